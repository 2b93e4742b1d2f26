/**
 * Text both stores keep exactly as sent (DESIGN §8). PostgreSQL refuses U+0000 in `text` and `jsonb`;
 * UTF-8 cannot carry a lone UTF-16 surrogate, so a driver would store U+FFFD instead and the value would
 * no longer match itself (an id, an idempotency key, a hash). Every other character, control characters
 * included, is stored byte for byte by both dialects.
 */

/** Why `text` cannot be stored as sent, or undefined when it can. */
export function unstorableText(text: string): string | undefined {
  if (text.includes('\u0000')) return 'Text must not contain a NUL character (U+0000)';
  if (!text.isWellFormed()) return 'Text must not contain a lone UTF-16 surrogate';
  return undefined;
}

/**
 * Text the gateway derives for display (a confirmation summary) from input it keeps as JSON: what
 * cannot be stored becomes U+FFFD, the replacement character, instead of failing the request.
 */
export function storableText(text: string): string {
  return text.replaceAll('\u0000', '\uFFFD').toWellFormed();
}

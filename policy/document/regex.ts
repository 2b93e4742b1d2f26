/**
 * "Bounded" regular expressions for the `matches` operator (DESIGN §6). Policies are written by
 * workspace admins but evaluated on every execute, so a pattern must not be able to backtrack
 * catastrophically (ReDoS). The rules are deliberately simple and conservative:
 *
 * - at most 256 characters, and valid with the `u` flag (which also makes stray `{`, `}` and `]` errors);
 * - no backreferences (`\1`, `\k<name>`);
 * - star height 1: a group that contains a quantifier (`*`, `+`, `?`, `{n,m}`) may not itself be
 *   repeated by `*`, `+` or `{n,m}` with m > 1, so `(a+)+`, `(\w*)*`, `(?:a?){2,}` are refused while
 *   `(ab)+`, `(a+)?` and `\d{3}-\d{4}` are fine.
 *
 * Overlapping alternation under a quantifier (`(a|a)+`) is not detected; the input it runs on is a single
 * request field, bounded by the gateway's body limit.
 */

export const MAX_PATTERN_LENGTH = 256;

/** Why `pattern` is not an acceptable `matches` pattern, or `null` when it is. */
export function regexProblem(pattern: string): string | null {
  if (pattern.length > MAX_PATTERN_LENGTH) return `Pattern must be at most ${MAX_PATTERN_LENGTH} characters`;
  try {
    new RegExp(pattern, 'u');
  } catch (error) {
    return `Invalid regular expression: ${error instanceof Error ? error.message : String(error)}`;
  }
  // For each open group: whether a quantifier occurs inside it.
  const groups: boolean[] = [];
  // Whether the atom just before the current position is a group containing a quantifier.
  let lastAtomNested = false;
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      if ((next >= '1' && next <= '9') || (next === 'k' && pattern[i + 2] === '<')) {
        return 'Backreferences are not allowed in patterns';
      }
      i += 2;
      lastAtomNested = false;
      continue;
    }
    if (c === '[') {
      i++;
      while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1;
      i++;
      lastAtomNested = false;
      continue;
    }
    if (c === '(') {
      groups.push(false);
      i++;
      if (pattern[i] === '?') {
        const kind = pattern[i + 1];
        if (kind === '<' && pattern[i + 2] !== '=' && pattern[i + 2] !== '!') {
          i = pattern.indexOf('>', i) + 1;
        } else {
          i += kind === '<' ? 3 : 2;
        }
      }
      lastAtomNested = false;
      continue;
    }
    if (c === ')') {
      const nested = groups.pop() ?? false;
      if (nested && groups.length > 0) groups[groups.length - 1] = true;
      lastAtomNested = nested;
      i++;
      continue;
    }
    const quantifier = readQuantifier(pattern, i);
    if (quantifier !== null) {
      if (lastAtomNested && quantifier.repeats) {
        return 'Nested quantifiers such as (a+)+ are not allowed in patterns';
      }
      if (groups.length > 0) groups[groups.length - 1] = true;
      i = quantifier.end;
      if (pattern[i] === '?') i++; // lazy modifier
      lastAtomNested = false;
      continue;
    }
    lastAtomNested = false;
    i++;
  }
  return null;
}

function readQuantifier(pattern: string, i: number): { end: number; repeats: boolean } | null {
  const c = pattern[i];
  if (c === '*' || c === '+') return { end: i + 1, repeats: true };
  if (c === '?') return { end: i + 1, repeats: false };
  if (c !== '{') return null;
  const match = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
  if (match === null) return null;
  const min = Number(match[1]);
  const max = match[2] === undefined ? min : match[3] === '' ? Number.POSITIVE_INFINITY : Number(match[3]);
  return { end: i + match[0].length, repeats: max > 1 };
}

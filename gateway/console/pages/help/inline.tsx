import type { Child } from 'hono/jsx';

/**
 * The reference's inline Markdown (policy/document/reference.ts) as HTML: `code` spans and links to
 * a section of the page, `[title](#slug)`; everything else is text, escaped by JSX like any text.
 */
const TOKEN = /`([^`]*)`|\[([^\]]+)\]\(#([a-z0-9-]+)\)/g;

export function inline(text: string): Child[] {
  const out: Child[] = [];
  let at = 0;
  for (const match of text.matchAll(TOKEN)) {
    const index = match.index ?? 0;
    if (index > at) out.push(text.slice(at, index));
    const [, codeText, linkText, anchor] = match;
    out.push(codeText !== undefined ? <code>{codeText}</code> : <a href={`#${anchor}`}>{linkText}</a>);
    at = index + match[0].length;
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}

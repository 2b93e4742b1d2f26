/** What `pageArrays` cut: the next offset to ask for (null when nothing was left out) and where. */
export interface ArrayPage {
  offset: number;
  limit: number;
  nextOffset: number | null;
  /** JSON paths (`$.catalogue.items`) of the arrays that hold more than this page. */
  truncated: string[];
}

const MAX_DEPTH = 8;

/**
 * One page of a business's discover data for a model's context window (issue 13, item 6): every
 * array in it, at any depth up to 8, is cut to `[offset, offset + limit)`; everything else is kept.
 * The business's data has no shape Warden knows, so paging is by position in each array.
 */
export function pageArrays(data: unknown, offset: number, limit: number): { data: unknown; page: ArrayPage } {
  const truncated: string[] = [];
  const walk = (value: unknown, path: string, depth: number): unknown => {
    if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) {
      if (value.length > offset + limit) truncated.push(path);
      return value
        .slice(offset, offset + limit)
        .map((item, i) => walk(item, `${path}[${offset + i}]`, depth + 1));
    }
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) out[key] = walk(inner, `${path}.${key}`, depth + 1);
    return out;
  };
  const paged = walk(data, '$', 0);
  return {
    data: paged,
    page: { offset, limit, nextOffset: truncated.length > 0 ? offset + limit : null, truncated },
  };
}

import { z } from 'zod';
import { listBusinesses } from '../../../services/businesses.ts';
import { defineTool, ok } from './tool.ts';

const LIST_LIMIT = 20;

export const listBusinessesTool = defineTool({
  name: 'list_businesses',
  scope: undefined,
  description:
    'List the businesses this gateway can reach: id, name, category, description. Filter by `category` or a search text `q`. Results are paged: pass `nextCursor` back as `cursor` for the next page. Use a business `id` with discover, query, prepare_execute and execute.',
  inputSchema: {
    category: z.string().max(128).optional(),
    q: z.string().max(200).optional().describe('Search text matched against name and description.'),
    cursor: z.string().max(128).optional().describe('`nextCursor` of the previous page.'),
    limit: z.number().int().min(1).max(100).optional().describe(`Page size (default ${LIST_LIMIT}).`),
  },
  // A business's fields an agent relies on, open to more.
  outputSchema: {
    businesses: z.array(
      z.looseObject({ id: z.string(), name: z.string(), category: z.string(), description: z.string() }),
    ),
    nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last.'),
  },
  annotations: { readOnlyHint: true },
  async handle(args, { ctx }) {
    const { cursor, limit = LIST_LIMIT, ...filter } = args;
    // Issue 12: live businesses only, as on GET /agp/businesses; paged by id for a context window.
    const all = (await listBusinesses({ ctx, filter: { ...filter, status: 'live' } })).sort((a, b) =>
      a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
    );
    const rest = cursor === undefined ? all : all.filter((b) => b.id > cursor);
    const page = rest.slice(0, limit);
    const last = page.at(-1);
    return ok({ businesses: page, nextCursor: rest.length > limit && last ? last.id : null });
  },
});

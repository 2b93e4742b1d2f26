import { z } from 'zod';
import { discover } from '../../../services/operations.ts';
import { businessIdSchema } from '../../agp/schema.ts';
import { pageArrays } from '../page-arrays.ts';
import { TRANSACTION_ID } from './shapes.ts';
import { defineTool, ok } from './tool.ts';

/** Items of each list in a discover page (a catalogue can be long; a context window is not). */
const DISCOVER_LIMIT = 50;

export const discoverTool = defineTool({
  name: 'discover',
  scope: 'discover',
  description:
    'Ask one business what it offers (its operations, catalogue and the request shapes it accepts). No side effects. Call this before query or execute to learn what `request` to send. Long lists are paged: `page.truncated` names the lists that go on; call again with `offset: page.nextOffset` for their next items (other lists come back empty on later pages).',
  inputSchema: {
    businessId: businessIdSchema,
    offset: z
      .number()
      .int()
      .min(0)
      .max(1_000_000)
      .optional()
      .describe('`page.nextOffset` of the previous page.'),
    limit: z
      .number()
      .int()
      .min(1)
      .max(500)
      .optional()
      .describe(`Items per list (default ${DISCOVER_LIMIT}).`),
  },
  outputSchema: {
    transactionId: TRANSACTION_ID,
    status: z.string(),
    data: z.unknown().optional(),
    page: z.object({
      offset: z.number(),
      limit: z.number(),
      nextOffset: z
        .number()
        .nullable()
        .describe('Pass as `offset` for the rest of the long lists; null when complete.'),
      truncated: z.array(z.string()).describe('JSON paths of the lists that go on past this page.'),
    }),
  },
  annotations: { readOnlyHint: true },
  async handle({ businessId, offset = 0, limit = DISCOVER_LIMIT }, { ctx, agent, extra }) {
    const r = await discover({ ctx, input: { agent, businessId, signal: extra.signal } });
    const { data, page } = pageArrays(r.data, offset, limit);
    return ok({ transactionId: r.transactionId, status: r.status, data, page });
  },
});

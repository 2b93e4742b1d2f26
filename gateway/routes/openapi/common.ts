import { extendZodWithOpenApi } from '@hono/zod-openapi';
import { z } from 'zod';
import { TRANSACTION_STATUSES } from '../../domain/index.ts';

extendZodWithOpenApi(z);

/**
 * `schema` under a name in /openapi.json's `components.schemas`: every route that answers with it
 * refers to `#/components/schemas/<name>`, so a generated client gets one type of that name. The
 * returned schema carries the name; declare routes with it.
 */
export const named = <T extends z.ZodType>(name: string, schema: T): T => schema.openapi(name);

/** Shapes several routes answer with (DESIGN §3: ISO 8601 UTC times, prefixed ids, integer money). */
export const isoTime = z.iso.datetime({ offset: true });
export const transactionStatus = z.enum(TRANSACTION_STATUSES as [string, ...string[]]);
export const operation = z.enum(['discover', 'query', 'execute', 'evaluate']);
export const role = z.enum(['admin', 'developer', 'approver']);
/** A receipt (DESIGN §9): a compact JWS, three base64url parts. */
export const compactJws = z.string().regex(/^[\w-]+\.[\w-]+\.[\w-]+$/);
export const stageView = named(
  'ApprovalStageSummary',
  z.object({
    index: z.number().int(),
    role: z.string(),
    tier: z.string(),
    status: z.string(),
  }),
);
/** A list page: the items and the cursor of the next page (null at the end). */
export const nextCursor = z.string().nullable();
/** Free-form JSON from a business, a policy or a request. */
export const json = z.unknown();
export const jsonObject = z.record(z.string(), z.unknown());

/** A policy decision with every check (policy/evaluate.ts `Decision`). */
export const decision = named(
  'Decision',
  z.object({
    outcome: z.enum(['auto_approve', 'reject', 'approval', 'queue']),
    ruleId: z.string().optional(),
    reason: z.string().optional(),
    stages: z.array(jsonObject).optional(),
    releaseAt: isoTime.optional(),
    checks: z.array(
      z.object({
        control: z.string(),
        id: z.string().optional(),
        result: z.enum(['pass', 'fail']),
        detail: z.string(),
      }),
    ),
    policy: z.object({ name: z.string(), version: z.number().int() }),
  }),
);

/** A member as the members API shows one (never a token or its hash). */
export const memberView = named(
  'Member',
  z.object({ id: z.string(), email: z.string(), role, createdAt: isoTime }),
);
/** A member and its token, shown once. */
export const memberWithToken = z.object({
  member: z.object({ id: z.string(), email: z.string(), role, createdAt: isoTime.optional() }),
  token: z.string(),
});

import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import type { GatewayEnv } from '../env.ts';
import { memberAuth } from '../middleware/auth/index.ts';
import { decideApproval, getApproval, listApprovals, viewApproval } from '../services/approvals/index.ts';
import type { Deps } from '../services/context.ts';
import { asMember } from './context.ts';
import { isoTime, named } from './openapi/common.ts';
import { route } from './openapi/route.ts';
import { transactionView } from './transactions.ts';
import { parseBody, parseQuery, pathParam } from './validate.ts';

const listQuery = z
  .object({
    status: z.enum(['pending', 'approved', 'rejected', 'expired']).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();
const approveBody = z
  .object({
    otp: z
      .string()
      .regex(/^\d{6}$/)
      .optional(),
    reason: z.string().max(1000).optional(),
  })
  .strict();
const rejectBody = z.object({ reason: z.string().max(1000).optional() }).strict();

const approvalView = named(
  'Approval',
  z.object({
    id: z.string(),
    status: z.enum(['pending', 'approved', 'rejected', 'expired']),
    transactionId: z.string(),
    stages: z.array(
      z.object({
        position: z.number().int(),
        index: z.number().int(),
        role: z.string(),
        tier: z.enum(['standard', 'critical_otp']),
        quorum: z.number().int(),
        status: z.enum(['waiting', 'pending', 'approved', 'rejected', 'expired', 'escalated']),
        approvals: z.number().int(),
        activatedAt: isoTime.nullable(),
        deadlineAt: isoTime.nullable(),
        onTimeout: z.enum(['reject', 'escalate_next']),
      }),
    ),
    votes: z.array(
      z.object({
        memberId: z.string(),
        position: z.number().int(),
        decision: z.enum(['approve', 'reject']),
        reason: z.string().nullable(),
        via: z
          .enum(['api', 'link', 'console', 'slack'])
          .describe('Where the vote was cast: the API, a magic link, the console, a Slack button.'),
        createdAt: isoTime,
      }),
    ),
    transaction: transactionView.passthrough().optional(),
    createdAt: isoTime,
    updatedAt: isoTime,
  }),
);

const DECIDING = ['NOT_FOUND', 'CONFLICT', 'FORBIDDEN', 'RATE_LIMITED'] as const;
const tag = 'Approvals';

/** Approvals API (DESIGN §5) for members; magic links and the page are in console/approve-page. */
export function registerApprovalRoutes(app: OpenAPIHono<GatewayEnv>, deps: Deps): void {
  const { otp } = deps;
  const members = memberAuth({ deps });

  route(
    app,
    {
      method: 'get',
      path: '/v1/approvals',
      operationId: 'listApprovals',
      tag,
      summary: "Approvals the caller's role can act on (pending), or any status asked for",
      access: { principal: 'member' },
      query: listQuery,
      responses: {
        200: { description: 'Approvals', schema: z.object({ approvals: z.array(approvalView) }) },
      },
    },
    members,
    async (c) => {
      const q = parseQuery(c, listQuery);
      const ctx = asMember(deps, c);
      return c.json({
        approvals: await listApprovals({
          ctx,
          input: { role: c.var.member.role, status: q.status, limit: q.limit },
        }),
      });
    },
  );

  route(
    app,
    {
      method: 'get',
      path: '/v1/approvals/:id',
      operationId: 'getApproval',
      tag,
      summary: 'One approval with its stages, votes and transaction',
      access: { principal: 'member' },
      responses: { 200: { description: 'The approval', schema: approvalView } },
      errors: ['NOT_FOUND'],
    },
    members,
    async (c) => {
      const { approval, transaction } = await getApproval({
        ctx: asMember(deps, c),
        input: { id: pathParam(c, 'id') },
      });
      return c.json(viewApproval(approval, transaction));
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/v1/approvals/:id/approve',
      operationId: 'approveApproval',
      tag,
      summary: 'Approve the active stage (critical tier: with the emailed code)',
      access: { principal: 'member' },
      body: approveBody,
      bodyOptional: true,
      responses: { 200: { description: 'The approval after the vote', schema: approvalView } },
      errors: DECIDING,
    },
    members,
    async (c) => {
      const body = await parseBody(c, approveBody.optional().default({}), { optional: true });
      const member = c.var.member;
      const approvalId = pathParam(c, 'id');
      // Critical stages: the code is checked first, and a failure says why (wrong, expired, locked).
      const otpVerified = await otp.confirm({
        workspaceId: member.workspaceId,
        approvalId,
        member,
        code: body.otp,
      });
      const { approval, transaction } = await decideApproval({
        ctx: asMember(deps, c),
        input: {
          approvalId,
          member,
          decision: 'approve',
          reason: body.reason,
          via: 'api',
          otpVerified,
        },
      });
      return c.json(viewApproval(approval, transaction));
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/v1/approvals/:id/otp',
      operationId: 'sendApprovalOtp',
      tag,
      summary: 'Email the caller a 6-digit code for the active critical stage',
      access: { principal: 'member' },
      responses: {
        202: {
          description: 'The code was sent',
          schema: z.object({ sent: z.literal(true), email: z.string(), expiresAt: isoTime }),
        },
      },
      errors: [...DECIDING, 'SERVICE_UNAVAILABLE'],
    },
    members,
    async (c) => {
      const member = c.var.member;
      const { expiresAt } = await otp.send({
        workspaceId: member.workspaceId,
        approvalId: pathParam(c, 'id'),
        member,
      });
      return c.json({ sent: true, email: member.email, expiresAt: new Date(expiresAt).toISOString() }, 202);
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/v1/approvals/:id/reject',
      operationId: 'rejectApproval',
      tag,
      summary: 'Reject the active stage (the request is refused)',
      access: { principal: 'member' },
      body: rejectBody,
      bodyOptional: true,
      responses: { 200: { description: 'The approval after the vote', schema: approvalView } },
      errors: DECIDING,
    },
    members,
    async (c) => {
      const body = await parseBody(c, rejectBody.optional().default({}), { optional: true });
      const member = c.var.member;
      const { approval, transaction } = await decideApproval({
        ctx: asMember(deps, c),
        input: {
          approvalId: pathParam(c, 'id'),
          member,
          decision: 'reject',
          reason: body.reason,
          via: 'api',
          otpVerified: false,
        },
      });
      return c.json(viewApproval(approval, transaction));
    },
  );
}

import type { Hono } from 'hono';
import { z } from 'zod';
import type { GatewayEnv } from '../env.ts';
import { memberAuth } from '../middleware/auth/index.ts';
import { decideApproval, getApproval, listApprovals, viewApproval } from '../services/approvals.ts';
import type { Deps } from '../services/context.ts';
import type { OtpService } from '../services/otp.ts';
import { asMember } from './context.ts';
import { parseBody, parseQuery } from './validate.ts';

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

/** Approvals API (DESIGN §5) for members; magic links and the page are in routes/approve-page. */
export function registerApprovalRoutes(app: Hono<GatewayEnv>, deps: Deps, otp: OtpService): void {
  const members = memberAuth({ deps });

  app.get('/v1/approvals', members, async (c) => {
    const q = parseQuery(c, listQuery);
    const ctx = asMember(deps, c);
    return c.json({
      approvals: await listApprovals({ ctx, role: c.var.member.role, status: q.status, limit: q.limit }),
    });
  });

  app.get('/v1/approvals/:id', members, async (c) => {
    const { approval, transaction } = await getApproval({ ctx: asMember(deps, c), id: c.req.param('id') });
    return c.json(viewApproval(approval, transaction));
  });

  app.post('/v1/approvals/:id/approve', members, async (c) => {
    const body = await parseBody(c, approveBody.optional().default({}));
    const member = c.var.member;
    const approvalId = c.req.param('id');
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
  });

  // Critical tier: emails a 6-digit code to the calling member for the active stage.
  app.post('/v1/approvals/:id/otp', members, async (c) => {
    const member = c.var.member;
    const { expiresAt } = await otp.send({
      workspaceId: member.workspaceId,
      approvalId: c.req.param('id'),
      member,
    });
    return c.json({ sent: true, email: member.email, expiresAt: new Date(expiresAt).toISOString() }, 202);
  });

  app.post('/v1/approvals/:id/reject', members, async (c) => {
    const body = await parseBody(c, rejectBody.optional().default({}));
    const member = c.var.member;
    const { approval, transaction } = await decideApproval({
      ctx: asMember(deps, c),
      input: {
        approvalId: c.req.param('id'),
        member,
        decision: 'reject',
        reason: body.reason,
        via: 'api',
        otpVerified: false,
      },
    });
    return c.json(viewApproval(approval, transaction));
  });
}

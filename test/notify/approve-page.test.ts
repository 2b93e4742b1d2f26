import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as approvals from '../../gateway/repositories/approvals.ts';
import * as tenancy from '../../gateway/repositories/tenancy.ts';
import { hashSecret } from '../../gateway/secrets.ts';
import { fireDueDeadlines } from '../../gateway/services/approvals/index.ts';
import { issueLink } from '../../gateway/services/approvals/links.ts';
import { addMember, csrfIn, park, policyKey, stage, stagedPolicy } from '../e2e/support.ts';
import {
  call,
  createTenant,
  registerHttpBusiness,
  startTestGateway,
  startUpstream,
  type Tenant,
  type TestGateway,
  type Upstream,
} from '../support/harness.ts';

describe('the approval page: refusals are readable pages (DESIGN §5)', () => {
  let gw: TestGateway;
  let upstream: Upstream;
  let tenant: Tenant;
  const people: Record<string, { token: string; id: string }> = {};

  beforeAll(async () => {
    upstream = await startUpstream();
    gw = await startTestGateway();
    await registerHttpBusiness(gw, upstream.url, 'shop', 'retail');
    tenant = await createTenant(gw);
    for (const name of ['ann', 'bob', 'cat']) {
      const token = await addMember(gw, tenant, `${name}@page.test`, 'approver');
      people[name] = {
        token,
        id: (await tenancy.findMemberByTokenHash(gw.db.reader, hashSecret(token)))?.id ?? '',
      };
    }
  });
  afterAll(async () => {
    await gw.dispose();
    await upstream.close();
  });

  const get = async (path: string) => {
    const res = await gw.app.request(path);
    return { status: res.status, html: await res.text(), headers: res.headers };
  };
  const post = async (path: string, fields: Record<string, string>, headers: Record<string, string> = {}) => {
    const res = await gw.app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(fields).toString(),
    });
    return { status: res.status, html: await res.text() };
  };
  /** A link for `who` at `position`, as the email would carry it. */
  const linkFor = async (approvalId: string, who: string, position = 0) => {
    const approval = await approvals.getApproval(gw.db.reader, tenant.workspaceId, approvalId);
    const { url } = await issueLink({
      deps: gw.deps,
      workspaceId: tenant.workspaceId,
      approvalId,
      position,
      memberId: people[who]?.id ?? '',
      expiresAt: approval?.stages[position]?.deadlineAt ?? 0,
    });
    return new URL(url).pathname;
  };
  const parked = async (name: string, stages = [stage(0, 'approver')]) =>
    park(gw, await policyKey(gw, tenant, name, stagedPolicy(stages)), {
      amount_cents: 700,
      note: '<script>alert("x")</script>',
    });

  it('an unknown or malformed link: 404, an HTML page, no JSON, no stack', async () => {
    for (const path of [`/approve/wal_${'A'.repeat(43)}`, '/approve/not-a-token', '/approve/x/y/z']) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type')).toContain('text/html');
      expect(res.html).toContain('<!DOCTYPE html>');
      expect(res.html).toContain('This link is not valid');
    }
    const posted = await post(`/approve/wal_${'A'.repeat(43)}/decision`, { decision: 'approve' });
    expect(posted.status).toBe(404);
    expect(posted.html).toContain('This link is not valid');
  });

  it('the page: escaped request, security headers, the CSRF field bound to the link', async () => {
    const { approvalId } = await parked('headers');
    const path = await linkFor(approvalId, 'ann');
    const res = await get(path);
    expect(res.status).toBe(200);
    expect(res.html).not.toContain('<script>');
    expect(res.html).toContain('&lt;script&gt;');
    expect(res.headers.get('referrer-policy')).toBe('same-origin');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('cache-control')).toBe('no-store');

    // Another link's CSRF field does not fit this one.
    const bobPath = await linkFor(approvalId, 'bob');
    const bobCsrf = csrfIn((await get(bobPath)).html);
    const crossed = await post(`${path}/decision`, { csrf: bobCsrf, decision: 'approve' });
    expect(crossed.status).toBe(403);
    expect(crossed.html).toContain('This form has expired');
    const csrf = csrfIn(res.html);
    const referer = await post(
      `${path}/decision`,
      { csrf, decision: 'approve' },
      { referer: 'https://evil.example/' },
    );
    expect(referer.status).toBe(403);
    const nullOrigin = await post(`${path}/decision`, { csrf, decision: 'approve' }, { origin: 'null' });
    expect(nullOrigin.status).toBe(403);
    const noChoice = await post(`${path}/decision`, { csrf, decision: 'maybe' });
    expect(noChoice.status).toBe(400);
    expect(noChoice.html).toContain('Choose Approve or Reject.');
    expect(upstream.requests).toHaveLength(0);

    const rejected = await post(`${path}/decision`, { csrf, decision: 'reject', reason: 'not this one' });
    expect(rejected.status).toBe(200);
    expect(rejected.html).toContain('You rejected this request.');
    expect(rejected.html).toContain('The request is rejected and will not be executed.');
  });

  it('a link past its deadline: 410 expired; once the deadline fired: 410 decided', async () => {
    const { approvalId } = await parked('expiry', [stage(0, 'approver', { approval_timeout_seconds: 60 })]);
    const path = await linkFor(approvalId, 'ann');
    expect((await get(path)).status).toBe(200);
    gw.now.advance(60_000);
    try {
      const expired = await get(path);
      expect(expired.status).toBe(410);
      expect(expired.html).toContain('This link has expired');
      await fireDueDeadlines(gw.deps);
      const decided = await get(path);
      expect(decided.status).toBe(410);
      expect(decided.html).toContain('This request has already been decided');
      expect(decided.html).toContain('The request is expired');
    } finally {
      gw.now.advance(-60_000);
    }
  });

  it('a stage that moved on, or a request somebody else decided: 410', async () => {
    const { approvalId } = await parked('moved', [stage(0, 'approver'), stage(1, 'approver')]);
    const annPath = await linkFor(approvalId, 'ann', 0);
    const bobPath = await linkFor(approvalId, 'bob', 0);
    const annCsrf = csrfIn((await get(annPath)).html);
    const approved = await post(`${annPath}/decision`, { csrf: annCsrf, decision: 'approve' });
    expect(approved.html).toContain('Waiting for stage 2 (approver).');
    const moved = await get(bobPath);
    expect(moved.status).toBe(410);
    expect(moved.html).toContain('This stage is no longer waiting');

    const catPath = await linkFor(approvalId, 'cat', 1);
    expect((await get(catPath)).status).toBe(200);
    // A stage-2 link for ann, who approved stage 1: nobody approves two stages.
    const annStage2 = await linkFor(approvalId, 'ann', 1);
    expect((await get(annStage2)).html).toContain('This link has already been used');
    await call(gw, 'POST', `/v1/approvals/${approvalId}/reject`, { key: people.bob?.token, body: {} });
    const decided = await get(catPath);
    expect(decided.status).toBe(410);
    expect(decided.html).toContain('The request is rejected');
  });

  it('a code request on a standard stage is refused on the page, not with JSON', async () => {
    const { approvalId } = await parked('no-otp');
    const path = await linkFor(approvalId, 'ann');
    const csrf = csrfIn((await get(path)).html);
    expect((await post(`${path}/otp`, { csrf: 'nope' })).status).toBe(403);
    const res = await post(`${path}/otp`, { csrf });
    expect(res.status).toBe(409);
    expect(res.html).toContain('The active stage does not need a one-time code.');
  });
});

import { stringify } from 'csv-stringify/sync';
import type { Conn } from '../../db/types.ts';
import {
  auditPage,
  type Range,
  type StageRow,
  stagesPage,
  transactionsPage,
  votesOf,
} from '../../repositories/reports.ts';

/**
 * The CSV extracts of the compliance export (issue 14): each read from the database in keyset pages,
 * written page by page, and capped. Columns are documented here once; README.md lists them.
 */

export interface Column {
  name: string;
  about: string;
}

/** One extract: its file, its columns, and how to read a page of its rows as CSV cells. */
export interface Extract<R, K> {
  file: string;
  about: string;
  columns: readonly Column[];
  start: K;
  page(conn: Conn, range: Range, after: K, limit: number): Promise<R[]>;
  keyOf(row: R): K;
  cells(conn: Conn, rows: R[]): Promise<Cell[][]>;
}

export type Cell = string | number | null;

/** How many rows an extract wrote, and whether rows past the cap were left out. */
export interface Written {
  rows: number;
  truncated: boolean;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * Spreadsheet formula injection (OWASP "CSV Injection"): a text cell starting with `=`, `+`, `-`,
 * `@`, a tab, a carriage return or a line feed is read as a formula by Excel, LibreOffice and Google
 * Sheets (a leading line break ends up at the start of a line), so it gets a leading `'`, which they
 * show as text. Numbers are written as numbers and left alone.
 */
export function neutralise(cell: Cell): Cell {
  return typeof cell === 'string' && /^[=+\-@\t\r\n]/.test(cell) ? `'${cell}` : cell;
}

/**
 * RFC 4180: CRLF between records, fields quoted when they hold a comma, a quote or any line break.
 * With a record delimiter set, csv-stringify quotes only that delimiter (`\r\n`), but spreadsheets
 * end a row at a bare CR or LF too: such a cell would start a row of its own, so it is quoted.
 */
export function csvText(rows: readonly Cell[][], header?: readonly Column[]): string {
  const records = header
    ? [header.map((c) => c.name), ...rows.map((r) => r.map(neutralise))]
    : rows.map((r) => r.map(neutralise));
  return stringify(records, { record_delimiter: 'windows', quoted_match: /[\r\n]/ });
}

/**
 * Writes `extract` as CSV text, page by page: at most `maxRows` rows, then `truncated` says whether
 * there were more. `written` is filled in as it goes (read it once the generator is done).
 */
export async function* extractCsv<R, K>(
  extract: Extract<R, K>,
  conn: Conn,
  range: Range,
  limits: { maxRows: number; pageSize: number },
  written: Written,
): AsyncGenerator<string> {
  yield csvText([], extract.columns);
  let after = extract.start;
  for (;;) {
    const room = limits.maxRows - written.rows;
    // One row more than there is room for: whether the cap cut anything off, without a count.
    const limit = Math.min(limits.pageSize, room + 1);
    const rows = await extract.page(conn, range, after, limit);
    const kept = rows.slice(0, room);
    if (rows.length > room) written.truncated = true;
    const last = kept.at(-1);
    if (last !== undefined) {
      yield csvText(await extract.cells(conn, kept));
      written.rows += kept.length;
      after = extract.keyOf(last);
    }
    if (written.truncated || rows.length < limit) return;
  }
}

const parse = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));

export const transactionsExtract: Extract<Awaited<ReturnType<typeof transactionsPage>>[number], string> = {
  file: 'transactions.csv',
  about:
    'Every transaction (discover, query, execute, evaluate) created in the range, by id (ULIDs: time order within a kind).',
  columns: [
    { name: 'transaction_id', about: 'the ledger id (`txn_…`)' },
    { name: 'created_at', about: 'when it was proposed (ISO 8601 UTC)' },
    { name: 'updated_at', about: 'its last status change' },
    { name: 'operation', about: '`discover`, `query`, `execute` or `evaluate`' },
    {
      name: 'status',
      about:
        '`succeeded`, `failed`, `pending_confirmation`, `unknown`, `rejected`, `expired`, `pending_approval`, `queued`, `pending` or `approved` (an evaluation allowed)',
    },
    { name: 'agent_id', about: 'the agent named by the key that called' },
    { name: 'agent_key_id', about: 'the agent key that called (`key_…`)' },
    { name: 'business_id', about: 'the business acted on (empty for an evaluation)' },
    { name: 'business_category', about: "the business's category when it was called" },
    { name: 'amount', about: 'integer minor units (cents), empty when none' },
    { name: 'currency', about: 'ISO 4217 code, empty when none' },
    { name: 'policy_name', about: 'the policy that decided' },
    { name: 'policy_version_id', about: 'the exact immutable policy version that decided' },
    { name: 'decision_outcome', about: '`auto_approve`, `approval`, `queue` or `reject`' },
    { name: 'decision_rule_id', about: 'the rule that decided (empty for the default action)' },
    { name: 'decision_reason', about: "the rule's reason" },
    { name: 'approval_id', about: 'the approval people decided, when it was parked (`apr_…`)' },
    { name: 'error_code', about: 'why it failed or is unknown (e.g. `ADAPTER_TIMEOUT`)' },
    { name: 'error_message', about: 'the error sentence' },
    {
      name: 'request_hash',
      about: 'SHA-256 of the request canonicalised by RFC 8785 (the body itself is not exported)',
    },
    { name: 'request_id', about: 'the HTTP request id (`X-Request-Id`) that proposed it' },
  ],
  start: '',
  page: transactionsPage,
  keyOf: (row) => row.id,
  async cells(_conn, rows) {
    return rows.map((r) => {
      const { id, created_at: createdAt, updated_at: updatedAt, operation, status } = r;
      const { agent_id: agentId, agent_key_id: agentKeyId, business_id: businessId } = r;
      const { business_category: category, amount, currency, policy_name: policyName } = r;
      const { policy_version_id: policyVersionId, decision: decisionText, approval_id: approvalId } = r;
      const { error: errorText, request_hash: requestHash, request_id: requestId } = r;
      const decision = parse<{ outcome?: string; ruleId?: string; reason?: string }>(decisionText);
      const error = parse<{ code?: string; message?: string }>(errorText);
      return [
        id,
        iso(createdAt),
        iso(updatedAt),
        operation,
        status,
        agentId,
        agentKeyId,
        businessId,
        category,
        amount,
        currency,
        policyName,
        policyVersionId,
        decision?.outcome ?? null,
        decision?.ruleId ?? null,
        decision?.reason ?? null,
        approvalId,
        error?.code ?? null,
        error?.message ?? null,
        requestHash,
        requestId,
      ];
    });
  },
};

export const stagesExtract: Extract<StageRow, { approvalId: string; position: number }> = {
  file: 'approval_stages.csv',
  about:
    'One row per stage of every approval opened in the range (a parked execute or evaluation), with who decided it.',
  columns: [
    { name: 'approval_id', about: 'the approval (`apr_…`)' },
    { name: 'transaction_id', about: 'the parked transaction' },
    { name: 'approval_status', about: '`pending`, `approved`, `rejected` or `expired`' },
    { name: 'approval_created_at', about: 'when the request was parked' },
    { name: 'position', about: 'the stage’s place in the pipeline, from 0' },
    { name: 'stage_index', about: 'the policy’s `stage_index`' },
    { name: 'role', about: 'the member role that may decide it' },
    { name: 'tier', about: '`standard` or `critical_otp` (a one-time code by email as well)' },
    { name: 'quorum', about: 'approvals it needs' },
    {
      name: 'stage_status',
      about: '`waiting`, `pending` (active), `approved`, `rejected`, `expired` or `escalated`',
    },
    { name: 'activated_at', about: 'when it became the active stage' },
    { name: 'deadline_at', about: 'when it times out' },
    { name: 'decided_at', about: 'when it was decided (by people, or by the clock when expired)' },
    { name: 'decision_seconds', about: 'decided_at − activated_at, in seconds, for a stage people decided' },
    { name: 'approved_by', about: 'member ids that approved this stage, space-separated' },
    { name: 'rejected_by', about: 'member ids that rejected it' },
    { name: 'decided_by_email', about: 'those members’ emails (while they are members), space-separated' },
    {
      name: 'decided_via',
      about: 'how each vote came (`api`, `link` (the emailed magic link) or `console`), in vote order',
    },
    { name: 'reasons', about: 'the reasons given with the votes, ` | `-separated' },
  ],
  start: { approvalId: '', position: -1 },
  page: stagesPage,
  keyOf: (row) => ({ approvalId: row.approvalId, position: row.position }),
  async cells(conn, rows) {
    const votes = await votesOf(conn, [...new Set(rows.map((r) => r.approvalId))]);
    return rows.map((s) => {
      const mine = votes.filter((v) => v.approvalId === s.approvalId && v.position === s.position);
      const by = (decision: string) =>
        mine
          .filter((v) => v.decision === decision)
          .map((v) => v.memberId)
          .join(' ') || null;
      const decidedByPeople = s.status === 'approved' || s.status === 'rejected';
      return [
        s.approvalId,
        s.transactionId,
        s.approvalStatus,
        iso(s.approvalCreatedAt),
        s.position,
        s.stageIndex,
        s.role,
        s.tier,
        s.quorum,
        s.status,
        iso(s.activatedAt),
        iso(s.deadlineAt),
        iso(s.decidedAt),
        decidedByPeople && s.decidedAt !== null && s.activatedAt !== null
          ? (s.decidedAt - s.activatedAt) / 1000
          : null,
        by('approve'),
        by('reject'),
        mine.map((v) => v.email ?? '').join(' ') || null,
        mine.map((v) => v.via).join(' ') || null,
        mine
          .map((v) => v.reason)
          .filter((r): r is string => !!r)
          .join(' | ') || null,
      ];
    });
  },
};

export const auditExtract: Extract<Awaited<ReturnType<typeof auditPage>>[number], number> = {
  file: 'audit_events.csv',
  about: "The workspace's audit events written in the range, in chain order.",
  columns: [
    { name: 'seq', about: 'the place in the workspace’s hash chain' },
    { name: 'event_id', about: 'the event (`aud_…`)' },
    { name: 'created_at', about: 'when it was written' },
    { name: 'actor_type', about: '`member`, `agent`, `operator`, `business` or `system`' },
    { name: 'actor_id', about: 'who acted (member id, agent key id, …)' },
    {
      name: 'action',
      about: 'what happened (`agent_key.revoked`, `policy.changed`, `approval.approved`, …)',
    },
    { name: 'target', about: 'what it happened to' },
    { name: 'data', about: 'the event’s details, JSON exactly as stored (hashed as such)' },
    { name: 'prev_hash', about: 'the previous event’s hash (empty for the first)' },
    { name: 'hash', about: 'SHA-256 over RFC 8785 of every other column' },
  ],
  start: 0,
  page: auditPage,
  keyOf: (row) => row.seq ?? 0,
  async cells(_conn, rows) {
    return rows.map((r) => {
      const { seq, id, created_at: createdAt, actor_type: actorType, actor_id: actorId, action } = r;
      const { target, data, prev_hash: prevHash, hash } = r;
      return [seq, id, iso(createdAt), actorType, actorId, action, target, data, prevHash, hash];
    });
  },
};

import { createHash } from 'node:crypto';
import { Zip, ZipDeflate } from 'fflate';
import { GatewayError } from '../../domain/index.ts';
import { checkpointBefore } from '../../repositories/ledger-log.ts';
import {
  agentKeyFigures,
  approvalsByStatus,
  auditByAction,
  decisionTimes,
  membersByRole,
  policyRejections,
  policyVersionsIn,
  type Range,
  transactionsByStatus,
  votesByMember,
} from '../../repositories/reports.ts';
import { getWorkspace } from '../../repositories/workspaces.ts';
import { GATEWAY_VERSION } from '../../version.ts';
import { type ServiceContext, workspaceOf } from '../context.ts';
import { checkpointPayload, verifyAuditChain } from '../ledger/index.ts';
import {
  auditExtract,
  type Extract,
  extractCsv,
  stagesExtract,
  transactionsExtract,
  type Written,
} from './extracts.ts';
import { type Figures, readme } from './readme.ts';

/**
 * The compliance export (issue 14; reference 000 §2.5 "Compliance reports"): one ZIP, streamed, with
 * a Markdown narrative mapping Warden's controls to SOC 2, ISO/IEC 27001:2022 Annex A and the EU AI
 * Act Art. 14 with the workspace's figures for the range, capped CSV extracts read in pages, the
 * audit chain's verification, and a manifest with each file's SHA-256.
 */

/** Rows per CSV at most: beyond it the file says it was cut (README.md, manifest.json). */
export const COMPLIANCE_MAX_ROWS = 100_000;
/** The longest range one export covers: a year, leap day included. */
export const COMPLIANCE_MAX_DAYS = 366;
/** Rows read per query while streaming an extract. */
const PAGE_SIZE = 1000;
/** Policy versions listed one by one in README.md (all are counted). */
const LISTED_POLICY_VERSIONS = 100;
const DAY_MS = 86_400_000;

export interface ComplianceInput {
  /** ISO 8601, inclusive. */
  from: string;
  /** ISO 8601, exclusive. */
  to: string;
}

/** Tests lower the cap and the page size to reach them with a few rows. */
export interface ComplianceLimits {
  maxRows: number;
  pageSize: number;
}

export interface ComplianceExport {
  filename: string;
  body: ReadableStream<Uint8Array>;
}

/** `20261101T000000Z` for a file name: no characters a file system or a header would object to. */
const stamp = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');

function parseRange(input: ComplianceInput): { from: number; to: number } {
  const from = Date.parse(input.from);
  const to = Date.parse(input.to);
  const refuse = (path: string, message: string): never => {
    throw new GatewayError('VALIDATION_ERROR', message, [{ path, message }]);
  };
  if (Number.isNaN(from)) refuse('from', 'Invalid ISO 8601 date-time.');
  if (Number.isNaN(to)) refuse('to', 'Invalid ISO 8601 date-time.');
  if (to <= from) refuse('to', '`to` must be after `from`.');
  if (to - from > COMPLIANCE_MAX_DAYS * DAY_MS) {
    refuse('to', `The range may cover at most ${COMPLIANCE_MAX_DAYS} days; export a longer period in parts.`);
  }
  return { from, to };
}

/** The figures of README.md and manifest.json, from aggregate queries over the range. */
async function figuresOf(ctx: ServiceContext, range: Range): Promise<Omit<Figures, 'extracts'>> {
  const conn = ctx.deps.db.reader;
  const transactions = await transactionsByStatus(conn, range);
  const executes: Record<string, number> = {};
  for (const t of transactions) if (t.operation === 'execute') executes[t.status] = t.count;
  const votes = await votesByMember(conn, range);
  const sum = (decision: string) =>
    votes.filter((v) => v.decision === decision).reduce((total, v) => total + v.count, 0);
  const decided = await decisionTimes(conn, range);
  const actions = await auditByAction(conn, range);
  return {
    transactions,
    executes,
    policyRejections: await policyRejections(conn, range),
    approvals: Object.fromEntries((await approvalsByStatus(conn, range)).map((a) => [a.key, a.count])),
    humanDecisions: {
      approvals: sum('approve'),
      rejections: sum('reject'),
      stagesDecided: decided.count,
      medianDecisionSeconds: decided.medianMs === null ? null : decided.medianMs / 1000,
      byMember: votes,
    },
    policyVersions: await policyVersionsIn(conn, range, LISTED_POLICY_VERSIONS),
    agentKeys: await agentKeyFigures(conn, range),
    members: Object.fromEntries((await membersByRole(conn, range.workspaceId)).map((m) => [m.key, m.count])),
    audit: {
      events: actions.reduce((total, a) => total + a.count, 0),
      byAction: Object.fromEntries(actions.map((a) => [a.key, a.count])),
    },
    verification: await verifyAuditChain({ ctx }),
  };
}

/**
 * GET /v1/reports/compliance.zip: checks the range and reads the figures and the chain's verdict
 * first (a refusal or a failure is still a JSON answer), then answers the ZIP as a stream: the CSV
 * extracts page by page, README.md (written after them, so it states the rows actually written),
 * audit-verification.json, and manifest.json last with every other file's SHA-256.
 */
export async function exportCompliance({
  ctx,
  input,
  limits = { maxRows: COMPLIANCE_MAX_ROWS, pageSize: PAGE_SIZE },
}: {
  ctx: ServiceContext;
  input: ComplianceInput;
  limits?: ComplianceLimits;
}): Promise<ComplianceExport> {
  const { from, to } = parseRange(input);
  const workspaceId = workspaceOf(ctx);
  const workspace = await getWorkspace(ctx.deps.db.reader, workspaceId);
  if (!workspace) throw new GatewayError('NOT_FOUND', 'No such workspace.');
  const range: Range = { workspaceId, from, to };
  const generatedAt = ctx.deps.clock();
  const figures = await figuresOf(ctx, range);
  const header = {
    workspace: { id: workspace.id, name: workspace.name },
    range: { from: new Date(from).toISOString(), to: new Date(to).toISOString() },
    generatedAt: new Date(generatedAt).toISOString(),
    gatewayVersion: GATEWAY_VERSION,
    rowCap: limits.maxRows,
  };

  async function* archive(): AsyncGenerator<Uint8Array> {
    const out: Uint8Array[] = [];
    let failure: Error | null = null;
    const zip = new Zip((err, chunk) => {
      if (err) failure = err;
      else out.push(chunk);
    });
    const drain = function* () {
      if (failure) throw failure;
      while (out.length > 0) yield out.shift() as Uint8Array;
    };
    const files: { name: string; bytes: number; sha256: string; rows?: number; truncated?: boolean }[] = [];
    const encoder = new TextEncoder();

    /** One file of the archive, from its chunks of text; answers its size and SHA-256. */
    async function* entry(name: string, chunks: AsyncIterable<string> | Iterable<string>) {
      const file = new ZipDeflate(name, { level: 6 });
      file.mtime = generatedAt;
      zip.add(file);
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const text of chunks) {
        const data = encoder.encode(text);
        hash.update(data);
        bytes += data.length;
        file.push(data);
        yield* drain();
      }
      file.push(new Uint8Array(0), true);
      yield* drain();
      return { name, bytes, sha256: hash.digest('hex') };
    }

    const extracts: Record<
      string,
      Written & { about: string; columns: Extract<unknown, unknown>['columns'] }
    > = {};
    async function* csv<R, K>(extract: Extract<R, K>) {
      const written: Written = { rows: 0, truncated: false };
      const done = yield* entry(
        extract.file,
        extractCsv(extract, ctx.deps.db.reader, range, limits, written),
      );
      files.push({ ...done, rows: written.rows, truncated: written.truncated });
      extracts[extract.file] = { ...written, about: extract.about, columns: extract.columns };
    }
    yield* csv(transactionsExtract);
    yield* csv(stagesExtract);
    yield* csv(auditExtract);

    const verification = {
      ...figures.verification,
      workspaceId,
      verifiedAt: header.generatedAt,
      scope: 'The whole audit chain of the workspace, from its first event (GET /v1/audit/verify).',
    };
    files.push(yield* entry('audit-verification.json', [`${JSON.stringify(verification, null, 2)}\n`]));
    // DESIGN §9: the newest checkpoint signed in the period, so a copy of the log's head leaves the
    // database with the export (null when none was signed then).
    const checkpoint = await checkpointBefore(ctx.deps.db.reader, workspaceId, to);
    const sealed =
      checkpoint && checkpoint.issuedAt >= from
        ? { checkpoint: checkpoint.jws, payload: checkpointPayload(checkpoint.jws) }
        : { checkpoint: null, payload: null };
    const ledger = {
      ...sealed,
      about:
        'The newest signed checkpoint of the ledger log issued in the range: verify it against GET /.well-known/warden-keys, and later logs against it with GET /v1/ledger/consistency.',
    };
    files.push(yield* entry('ledger-checkpoint.json', [`${JSON.stringify(ledger, null, 2)}\n`]));
    const all: Figures = { ...figures, extracts };
    files.unshift(yield* entry('README.md', [readme({ ...header, figures: all })]));

    const manifest = {
      format: 'warden-compliance-export/1',
      ...header,
      files,
      csv: {
        format:
          'RFC 4180, UTF-8, CRLF, one header row, a field holding a line break quoted; times ISO 8601 UTC; amounts integer minor units',
        formulaInjection: "a text cell starting with = + - @ TAB, CR or LF is prefixed with '",
      },
      figures,
    };
    yield* entry('manifest.json', [`${JSON.stringify(manifest, null, 2)}\n`]);
    zip.end();
    yield* drain();
  }

  const chunks = archive();
  const body = new ReadableStream<Uint8Array>({
    // One page at a time: the next is read when the client has taken the last (backpressure).
    async pull(controller) {
      try {
        const next = await chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      } catch (err) {
        // The status line has gone: the client sees the connection cut, the log says why.
        ctx.deps.logger.error({ err, workspaceId }, 'the compliance export failed while streaming');
        controller.error(err);
      }
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
  return {
    filename: `warden-compliance-${workspace.id}-${stamp(from)}-${stamp(to)}.zip`,
    body,
  };
}

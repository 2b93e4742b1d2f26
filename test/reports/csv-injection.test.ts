import { parse } from 'csv-parse/sync';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/dialects.ts';
import {
  call,
  createTenant,
  registerEcho,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';

const DAY = 86_400_000;

/**
 * How LibreOffice Calc and Excel open a CSV (RFC 4180 as they implement it): a field that starts with
 * `"` runs to the closing quote, line breaks and `""` included, and stays one cell; outside quotes a
 * CRLF, a bare LF and a bare CR each end the row (the three line ends they accept).
 */
function spreadsheetRows(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  let quotedField = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch !== '"') cell += ch;
      else if (text[i + 1] === '"') {
        cell += '"';
        i++;
      } else quoted = false;
    } else if (ch === '"' && cell === '' && !quotedField) {
      quoted = true;
      quotedField = true;
    } else if (ch === ',') {
      row.push(cell);
      cell = '';
      quotedField = false;
    } else if (ch === '\r' || ch === '\n') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      quotedField = false;
    } else cell += ch;
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

/** OWASP "CSV Injection": a cell starting with one of these is run as a formula (numbers aside). */
const FORMULA_START = /^[=+\-@\t\r\n]/;
const NUMBER = /^-?\d+(\.\d+)?$/;

/** Hostile text a developer or an approver chooses: leading line breaks, a line break mid-text. */
const AGENTS = ['\n=1+1', '\r@SUM(1+1)', 'bot\n-2+3', 'tab\r\n+cmd'];
const REJECT_REASON = '\n=HYPERLINK("http://evil.test","x")';
const APPROVE_REASON = 'fine by me\n=2+2';

// Issue 18 item 3: no text of the ledger may start a row, or a formula, in a spreadsheet.
describe.each(DIALECTS)('the compliance CSVs against spreadsheet injection on %s', (dialect) => {
  let gw: TestGateway;
  let tenant: Tenant;
  let files: Record<string, Uint8Array>;

  beforeAll(async () => {
    gw = await startTestGateway({ dialect });
    tenant = await createTenant(gw);
    await registerEcho(gw);
    const policy = {
      default_action: 'auto_approve',
      rules: [
        {
          id: 'needs-people',
          priority: 1,
          conditions: [{ context: 'amount', op: 'gte', value: 5_000 }],
          action: 'require_approval',
          stage_index: 0,
        },
      ],
      routing_stages: [
        {
          stage_index: 0,
          role: 'admin',
          tier: 'standard',
          quorum: 1,
          approval_timeout_seconds: 3600,
          on_approval_timeout: 'reject',
        },
      ],
    };
    const put = await call(gw, 'PUT', '/v1/policies/default', { key: tenant.adminToken, body: policy });
    expect(put.status).toBe(201);
    const keys: string[] = [];
    for (const agentId of AGENTS) {
      const key = await call(gw, 'POST', '/v1/keys', { key: tenant.adminToken, body: { agentId } });
      expect(key.status, JSON.stringify(key.body)).toBe(201);
      keys.push(key.body.key as string);
    }
    const execute = (key: string, amount: number) =>
      call(gw, 'POST', '/agp/execute', {
        key,
        body: { businessId: 'echo', request: { sku: 'tea', amount_cents: amount } },
      });
    for (const key of keys) expect((await execute(key, 100)).status).toBe(200);
    const parked = [await execute(keys[0] as string, 6_000), await execute(keys[1] as string, 7_000)];
    const [toReject, toApprove] = parked.map((res) => {
      expect(res.status).toBe(202);
      return (res.body.approval as { id: string }).id;
    });
    const vote = async (id: string, verdict: 'reject' | 'approve', reason: string) => {
      const res = await call(gw, 'POST', `/v1/approvals/${id}/${verdict}`, {
        key: tenant.adminToken,
        body: { reason },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    };
    await vote(toReject as string, 'reject', REJECT_REASON);
    await vote(toApprove as string, 'approve', APPROVE_REASON);

    const from = new Date(gw.now.value - DAY).toISOString();
    const to = new Date(gw.now.value + DAY).toISOString();
    const res = await gw.app.request(`/v1/reports/compliance.zip?from=${from}&to=${to}`, {
      headers: { authorization: `Bearer ${tenant.adminToken}` },
    });
    expect(res.status).toBe(200);
    files = unzipSync(new Uint8Array(await res.arrayBuffer()));
  });
  afterAll(async () => {
    await gw?.dispose();
  });

  const csvFiles = () => Object.keys(files).filter((name) => name.endsWith('.csv'));
  const text = (name: string) => new TextDecoder().decode(files[name]);

  it('every CSV parses strictly with CR, LF and CRLF as row ends: each row has the header’s columns', () => {
    expect(csvFiles().sort()).toEqual(['approval_stages.csv', 'audit_events.csv', 'transactions.csv']);
    for (const name of csvFiles()) {
      // Not auto-discovered: the header's CRLF would make a bare LF look like data.
      const rows = parse(text(name), { record_delimiter: ['\r\n', '\n', '\r'] }) as string[][];
      const width = (rows[0] as string[]).length;
      expect(rows.length, name).toBeGreaterThan(1);
      for (const row of rows) expect(row.length, `${name}: ${JSON.stringify(row)}`).toBe(width);
    }
  });

  it('read as a spreadsheet reads it, no row and no cell starts a formula, and every row is whole', () => {
    for (const name of csvFiles()) {
      const [header, ...rows] = spreadsheetRows(text(name));
      expect(rows.length, name).toBeGreaterThan(0);
      for (const row of rows) {
        expect(row.length, `${name}: ${JSON.stringify(row)}`).toBe(header?.length);
        for (const cell of row) {
          if (NUMBER.test(cell)) continue;
          expect(cell, `${name}: ${JSON.stringify(row)}`).not.toMatch(FORMULA_START);
        }
      }
    }
  });

  it('the hostile values are kept whole in their own cells, a leading break behind a quote mark', () => {
    const table = (name: string) => {
      const [header = [], ...rows] = spreadsheetRows(text(name));
      return rows.map((row) => Object.fromEntries(header.map((column, i) => [column, row[i]])));
    };
    const agents = table('transactions.csv').map((t) => t.agent_id);
    expect(new Set(agents)).toEqual(new Set(["'\n=1+1", "'\r@SUM(1+1)", 'bot\n-2+3', 'tab\r\n+cmd']));
    const reasons = table('approval_stages.csv').map((s) => s.reasons);
    expect(reasons.sort()).toEqual([`'${REJECT_REASON}`, APPROVE_REASON].sort());
  });
});

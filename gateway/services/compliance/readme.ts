import type { ChainVerdict } from '../ledger/index.ts';
import type { Column, Written } from './extracts.ts';

/**
 * README.md of the compliance export: what Warden does for each control, with this workspace's
 * figures for the range beside it. Control names are the frameworks' own (SOC 2 Trust Services
 * Criteria 2017, revised points of focus 2022; ISO/IEC 27001:2022 Annex A; Regulation (EU)
 * 2024/1689 Art. 12, 14, 26); the report is evidence for an assessor, not an attestation.
 */

export interface Figures {
  transactions: { operation: string; status: string; count: number }[];
  /** Executes by status. */
  executes: Record<string, number>;
  /** Refused by the policy when admitted or released: rejected without ever being parked for people. */
  policyRejections: number;
  /** Approvals opened in the range, by their status now. */
  approvals: Record<string, number>;
  humanDecisions: {
    /** Votes cast in the range. */
    approvals: number;
    rejections: number;
    /** Stages people decided in the range (not the clock). */
    stagesDecided: number;
    /** From a stage becoming active to its decision; null when none was decided. */
    medianDecisionSeconds: number | null;
    byMember: { memberId: string; email: string | null; decision: string; count: number }[];
  };
  policyVersions: {
    count: number;
    versions: {
      name: string;
      version: number;
      createdBy: string | null;
      email: string | null;
      createdAt: number;
    }[];
  };
  agentKeys: { created: number; revoked: number; active: number };
  /** Members by role at generation time. */
  members: Record<string, number>;
  audit: { events: number; byAction: Record<string, number> };
  verification: ChainVerdict;
  extracts: Record<string, Written & { about: string; columns: readonly Column[] }>;
}

export interface ReadmeInput {
  workspace: { id: string; name: string };
  range: { from: string; to: string };
  generatedAt: string;
  gatewayVersion: string;
  rowCap: number;
  figures: Figures;
}

/** A table cell: one line, no `|` that would end it early. */
const cell = (value: unknown): string =>
  String(value ?? '—')
    .replace(/\r?\n|\r/g, ' ')
    .replace(/\|/g, '\\|');
const table = (head: string[], rows: unknown[][]): string =>
  [
    `| ${head.map(cell).join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...(rows.length > 0 ? rows : [head.map((_, i) => (i === 0 ? 'none' : ''))]).map(
      (r) => `| ${r.map(cell).join(' | ')} |`,
    ),
  ].join('\n');
const count = (n: number) => n.toLocaleString('en-US');
const seconds = (s: number | null) => {
  if (s === null) return 'n/a (no stage was decided by people in the period)';
  if (s < 120) return `${s.toFixed(1)} s`;
  if (s < 7200) return `${s.toFixed(1)} s (${(s / 60).toFixed(1)} min)`;
  return `${s.toFixed(1)} s (${(s / 3600).toFixed(1)} h)`;
};
const sumOf = (record: Record<string, number>) => Object.values(record).reduce((a, b) => a + b, 0);

export function readme(input: ReadmeInput): string {
  const { workspace, range, figures: f } = input;
  const executes = sumOf(f.executes);
  const v = f.verification;
  const chain = v.valid
    ? `intact: ${count(v.checked)} events checked, none altered, removed or out of place`
    : `BROKEN at event \`${v.firstBrokenId}\` (${count(v.checked)} events checked)`;
  const unknown = f.executes.unknown ?? 0;
  const resolved = f.audit.byAction['transaction.resolved'] ?? 0;
  const keyEvents =
    (f.audit.byAction['agent_key.created'] ?? 0) + (f.audit.byAction['agent_key.revoked'] ?? 0);
  const memberEvents = Object.entries(f.audit.byAction)
    .filter(([action]) => action.startsWith('member.') || action.startsWith('invite.'))
    .reduce((n, [, c]) => n + c, 0);
  const decided = f.humanDecisions;
  const approvalsOpened = sumOf(f.approvals);
  const deciders = new Map<string, { email: string | null; approve: number; reject: number }>();
  for (const vote of decided.byMember) {
    const d = deciders.get(vote.memberId) ?? { email: vote.email, approve: 0, reject: 0 };
    if (vote.decision === 'approve') d.approve += vote.count;
    else d.reject += vote.count;
    deciders.set(vote.memberId, d);
  }
  const authors = new Map<string, number>();
  for (const pv of f.policyVersions.versions) {
    const who = pv.createdBy
      ? `${pv.email ?? 'former member'} (\`${pv.createdBy}\`)`
      : 'the operator or the system';
    authors.set(who, (authors.get(who) ?? 0) + 1);
  }
  const extracts = Object.entries(f.extracts);
  const cut = extracts.filter(([, e]) => e.truncated).map(([file]) => `\`${file}\``);

  return `# Compliance report: ${cell(workspace.name)}

| | |
|---|---|
| Workspace | ${cell(workspace.name)} (\`${workspace.id}\`) |
| Period | ${range.from} (inclusive) to ${range.to} (exclusive), UTC |
| Generated | ${input.generatedAt} by Warden ${input.gatewayVersion} |
| Audit chain | ${chain} |
| Row cap per CSV | ${count(input.rowCap)}${cut.length > 0 ? ` — **reached by ${cut.join(', ')}: those files are incomplete**` : ' — not reached: every row of the period is included'} |

This archive is evidence produced by the Warden gateway from its own ledger, approvals and audit chain.
It maps Warden's controls to the criteria of SOC 2, ISO/IEC 27001:2022 Annex A and Article 14 of the EU
AI Act so that an assessor can test them; it is not an attestation, a certification or legal advice. The
figures count what the database held when the report was generated; \`manifest.json\` carries the same
figures as JSON and the SHA-256 of every file.

## 1. Figures for the period

### Executes by status

${table(
  ['status', 'count'],
  Object.entries(f.executes).map(([status, n]) => [status, n]),
)}

Total executes: **${count(executes)}**. \`unknown\` means the business was called but its answer never
arrived (a timeout or a lost connection after sending); its spend stays reserved until a repeat of the
same request or an admin settles it.

### Every transaction by operation and status

${table(
  ['operation', 'status', 'count'],
  f.transactions.map((t) => [t.operation, t.status, t.count]),
)}

### Decisions

- Refused by the policy (rejected when admitted or released, never shown to people): **${count(f.policyRejections)}**
- Approvals opened (requests parked for people): **${count(approvalsOpened)}**${
    approvalsOpened > 0
      ? ` — by status now: ${Object.entries(f.approvals)
          .map(([s, n]) => `${s} ${count(n)}`)
          .join(', ')}`
      : ''
  }
- Human approvals (votes to approve): **${count(decided.approvals)}**
- Human rejections (votes to reject): **${count(decided.rejections)}**
- Stages decided by people: **${count(decided.stagesDecided)}**; median decision time (a stage becoming active to its decision): **${seconds(decided.medianDecisionSeconds)}**

Who decided:

${table(
  ['member', 'email', 'approved', 'rejected'],
  [...deciders].map(([id, d]) => [`\`${id}\``, d.email ?? 'former member', d.approve, d.reject]),
)}

### Policy changes

Policy versions created: **${count(f.policyVersions.count)}**${
    f.policyVersions.count > f.policyVersions.versions.length
      ? ` (the first ${f.policyVersions.versions.length} are listed)`
      : ''
  }

${table(
  ['policy', 'version', 'created by', 'created at'],
  f.policyVersions.versions.map((pv) => [
    pv.name,
    pv.version,
    pv.createdBy ? `${pv.email ?? 'former member'} (\`${pv.createdBy}\`)` : 'operator or system',
    new Date(pv.createdAt).toISOString(),
  ]),
)}

By author:

${table(
  ['author', 'versions'],
  [...authors].map(([who, n]) => [who, n]),
)}

### Access

- Agent keys created: **${count(f.agentKeys.created)}**; revoked: **${count(f.agentKeys.revoked)}**; active at generation time: **${count(f.agentKeys.active)}**
- Members by role at generation time: ${
    Object.entries(f.members)
      .map(([role, n]) => `${role} **${count(n)}**`)
      .join(', ') || 'none'
  }

### Audit trail

Audit events written in the period: **${count(f.audit.events)}**. Chain verification: **${v.valid ? 'valid' : 'INVALID'}**
(${count(v.checked)} events checked${v.firstBrokenId ? `, first broken: \`${v.firstBrokenId}\`` : ''}).

${table(
  ['action', 'events'],
  Object.entries(f.audit.byAction).map(([action, n]) => [`\`${action}\``, n]),
)}

## 2. SOC 2 (Trust Services Criteria)

### CC6 Logical and physical access controls

- **CC6.1 (logical access security).** Agent keys and member tokens carry at least 128 random bits, are
  shown once and stored only as SHA-256 hashes; the key decides the workspace, so no request can name
  another tenant's data. Every execute is decided against the workspace's policy (when it has one) before
  it reaches a business. In the period: ${count(executes)} executes decided, ${count(f.policyRejections)} refused by the policy.
- **CC6.2 (registration and authorisation of users).** Members are added by an admin, or join by an emailed
  one-time invitation (hashed, 24 hours, single use), with a role an admin chose; agent keys are created by admins or
  developers with explicit scopes (\`discover\`, \`query\`, \`execute\`). In the period:
  ${count(f.agentKeys.created)} agent keys created, ${count(memberEvents)} member and invitation events audited.
- **CC6.3 (role-based access, change and removal).** Three roles: \`admin\` (policies, members, audit),
  \`developer\` (integrations, keys) and \`approver\` (decides parked requests). Revocation takes effect on
  the next request on every replica (read from the database each time). In the period:
  ${count(f.agentKeys.revoked)} agent keys revoked; ${count(keyEvents)} key events audited.

### CC7 System operations

- **CC7.2 (monitoring for anomalies).** Every change to keys, members, policies, businesses, webhooks
  and approvals is an audit event written in the same database transaction as the change and chained
  by SHA-256 to the event before it, so a removed or altered event is detected. The chain was verified
  when this report was generated (${chain}). Prometheus metrics (\`GET /metrics\`) expose decisions,
  adapter latency and errors, the outbox backlog and pending approvals for alerting.
- **CC7.3 (evaluation of events).** An execute whose outcome cannot be known (the business timed out
  or the connection dropped after sending, or the gateway stopped before recording the answer) is
  marked \`unknown\` rather than guessed: ${count(unknown)} in the period. Failing businesses are cut off by
  a circuit breaker.
- **CC7.4 (response).** An admin settles an unknown outcome (\`POST /v1/transactions/:id/resolve\`, audited
  as \`transaction.resolved\`): ${count(resolved)} in the period. Signed receipts (Ed25519 JWS, chained per
  workspace) prove what each settled execute did: \`warden receipt verify <transaction id>\`.

### CC8 Change management

- **CC8.1 (authorised, tested, approved changes).** Policies are versioned: each \`PUT /v1/policies/:name\`
  is validated, stored as a new immutable version with its author and time, and audited as
  \`policy.changed\`; only admins may change them, and \`POST /v1/policies/:name/simulate\` tests a draft
  against a request before it is saved. Every transaction names the policy version that decided it
  (\`policy_version_id\` in \`transactions.csv\`). In the period: ${count(f.policyVersions.count)} policy
  versions created (listed above with their authors).

## 3. ISO/IEC 27001:2022 Annex A

${table(
  ['control', "Warden's measure", 'evidence in this archive'],
  [
    [
      'A.5.3 Segregation of duties',
      'Separate roles: developers integrate, approvers decide, admins govern; one member votes once per approval, so a multi-stage approval needs different people',
      `approval_stages.csv (approved_by per stage); members by role: ${Object.entries(f.members)
        .map(([r, n]) => `${r} ${n}`)
        .join(', ')}`,
    ],
    [
      'A.5.15 Access control',
      'Key-bound tenancy; role checks on every member route; scoped agent keys; policy decides every execute',
      `transactions.csv; ${count(f.policyRejections)} policy refusals`,
    ],
    [
      'A.5.16 Identity management',
      'Members by email, invited by admins; every agent key names its agent',
      `audit_events.csv (\`member.*\`, \`invite.*\`: ${count(memberEvents)} events)`,
    ],
    [
      'A.5.17 Authentication information',
      'Secrets shown once, stored as SHA-256 hashes; tokens rotatable; magic links and one-time codes hashed and short-lived',
      'audit_events.csv (`member.token_rotated`, `agent_key.*`)',
    ],
    [
      'A.5.18 Access rights',
      'Keys and members created, changed and revoked by authorised members; revocation effective at once',
      `${count(f.agentKeys.created)} keys created, ${count(f.agentKeys.revoked)} revoked`,
    ],
    [
      'A.8.2 Privileged access rights',
      'Only admins change policies, members, webhooks and read the audit trail; the operator token is separate from workspace roles',
      'audit_events.csv (actor of each change)',
    ],
    [
      'A.8.5 Secure authentication',
      'Bearer keys of 128+ random bits; critical approval stages also need a 6-digit code by email (10 minutes, 5 tries)',
      'approval_stages.csv (`tier` = `critical_otp`)',
    ],
    [
      'A.8.15 Logging',
      'Append-only audit events, hash-chained per workspace, written with the change they record; signed receipts per settled execute',
      `audit_events.csv (${count(f.audit.events)} events), audit-verification.json (${v.valid ? 'valid' : 'invalid'})`,
    ],
    [
      'A.8.16 Monitoring activities',
      'Chain verification on demand; unknown outcomes flagged; Prometheus metrics; circuit breakers per business',
      `${count(unknown)} unknown outcomes, ${count(resolved)} resolved by an admin`,
    ],
    [
      'A.8.9 Configuration management',
      'Each policy version is immutable and content-hashed; each decision records the version it used',
      'transactions.csv (`policy_version_id`)',
    ],
    [
      'A.8.32 Change management',
      'Policy changes validated, versioned, attributed, audited, testable by simulation before saving',
      `${count(f.policyVersions.count)} policy versions created in the period`,
    ],
  ],
)}

## 4. EU AI Act (Regulation (EU) 2024/1689)

Warden is a control a deployer places between its AI agents and the systems they act on. It does not
make an agent compliant by itself; it provides the oversight and logging measures below.

- **Art. 14(1) and 14(4)(d)–(e), human oversight and the ability to override or stop.** The policy parks
  any execute it names (by amount, category, business, time) until people approve it: nothing reaches
  the business before. Approvers see the full request, the rule that asked and the pipeline, and may
  reject it; a parked request that nobody decides expires or escalates, never executes by default.
  Agent keys can be revoked at once to stop an agent. In the period: ${count(approvalsOpened)} requests
  parked for people, ${count(decided.approvals)} human approvals and ${count(decided.rejections)} human rejections.
- **Art. 14(4)(a), monitoring for anomalies.** Outcomes the gateway cannot know are marked \`unknown\`
  (${count(unknown)}), not assumed; refusals name the rule that refused (\`decision_rule_id\`).
- **Who decided and when.** \`approval_stages.csv\` lists, for every stage, the role required, the tier,
  the quorum, when it became active, its deadline, when it was decided, by whom and how (API or emailed
  link), with the reasons given. Median time to a human decision in the period:
  **${seconds(decided.medianDecisionSeconds)}** over ${count(decided.stagesDecided)} stages.
- **Stages.** Multi-stage approvals run in order (for example approver, then admin); each stage has its
  own role, quorum and timeout, and one member votes once per approval, so two stages need two people.
- **Art. 12 and Art. 26(6), record-keeping and logs.** Every proposal, decision, approval and outcome
  is a ledger row; approvals and configuration changes are hash-chained audit events; settled executes
  carry signed receipts. Keep this archive with your records for the retention your obligations set
  (Art. 26(6): at least six months for deployers of high-risk systems).

## 5. Files

${table(
  ['file', 'rows', 'truncated', 'content'],
  [
    ...extracts.map(([file, e]) => [
      `\`${file}\``,
      count(e.rows),
      e.truncated ? `**yes** (cap ${count(input.rowCap)})` : 'no',
      e.about,
    ]),
    [
      '`audit-verification.json`',
      '',
      '',
      'The verdict on the whole audit chain: `{valid, checked, firstBrokenId}`',
    ],
    [
      '`ledger-checkpoint.json`',
      '',
      '',
      "The newest signed checkpoint of the workspace's ledger log issued in the range (null when none was)",
    ],
    [
      '`manifest.json`',
      '',
      '',
      'Files, row counts, truncated flags, SHA-256 of each file, range, generation time, gateway version, and the figures above as JSON',
    ],
  ],
)}

Each CSV holds at most **${count(input.rowCap)} rows** (the cap). A file that reached it is marked
truncated here and \`"truncated": true\` in \`manifest.json\`, and holds the first rows of the period in
the order stated; export shorter periods to obtain every row. A range covers at most 366 days.

CSV format: RFC 4180, UTF-8, CRLF line ends, one header row; times are ISO 8601 UTC; amounts are
integer minor units (cents); an empty cell is a null.

**Spreadsheet formula injection is neutralised:** a text cell that begins with \`=\`, \`+\`, \`-\`, \`@\`, a
tab, a carriage return or a line feed is written with a leading \`'\` so spreadsheet programs show it as
text instead of running it as a formula. Strip that one character to get the stored value (for example
to recompute an audit event's hash). A cell holding a line break is always quoted, so it stays one cell.

${extracts
  .map(
    ([file, e]) => `### ${file}

${table(
  ['column', 'meaning'],
  e.columns.map((c) => [`\`${c.name}\``, c.about]),
)}`,
  )
  .join('\n\n')}

## 6. Checking this archive

1. Each file's SHA-256 must equal the one in \`manifest.json\` (\`sha256sum *.csv *.json README.md\`).
2. \`audit-verification.json\` is the gateway's own check of the chain; repeat it with
   \`GET /v1/audit/verify\` (admin) or \`warden audit verify --workspace ${workspace.id}\`. Each row of
   \`audit_events.csv\` can be checked by hand: \`hash\` is SHA-256 (hex) of the RFC 8785 JSON of
   \`{id, workspace_id, actor_type, actor_id, action, target, data, created_at, seq, prev_hash}\` with
   \`created_at\` in epoch milliseconds and \`data\` as the text shown, and \`prev_hash\` is the hash of the
   event before it in the chain.
3. A settled execute's receipt verifies against \`GET /.well-known/warden-keys\`:
   \`warden receipt verify <transaction_id>\`.
4. \`ledger-checkpoint.json\` signs the head of the workspace's ledger log (every receipt and audit
   event, in order) as it stood in the period. Keep it: \`warden receipt verify <id> --checkpoint
   ledger-checkpoint.json\` checks a receipt's inclusion under it, and \`GET /v1/ledger/consistency\`
   proves a later log still holds everything it signed.
`;
}

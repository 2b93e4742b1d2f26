import { z } from 'zod';
import {
  compactJws,
  isoTime,
  json,
  jsonObject,
  named,
  operation,
  stageView,
  transactionStatus,
} from '../openapi/common.ts';

/** The agent API's answers (DESIGN §4, normative names): what /openapi.json documents and tests check. */

export const operationAnswer = named(
  'OperationResult',
  z.object({
    transactionId: z.string(),
    status: transactionStatus,
    data: json,
  }),
);

export const prepareAnswer = named(
  'PreparedExecute',
  z.object({
    confirmationToken: z.string(),
    expiresAt: isoTime,
    summary: z.string(),
  }),
);

export const executedAnswer = named(
  'ExecuteResult',
  z.object({
    transactionId: z.string(),
    status: z.enum(['succeeded', 'failed', 'pending_confirmation']),
    data: json,
    receipt: compactJws.optional().describe('Absent only while the receipt could not be written.'),
  }),
);

const agentApproval = named(
  'AgentApproval',
  z.object({
    id: z.string(),
    status: z.string().optional(),
    stages: z.array(stageView),
    expiresAt: isoTime.nullable(),
  }),
);

export const parkedAnswer = named(
  'ExecuteParked',
  z.union([
    z.object({ transactionId: z.string(), status: z.literal('pending_approval'), approval: agentApproval }),
    z.object({ transactionId: z.string(), status: z.literal('queued'), releaseAt: isoTime }),
  ]),
);

export const statusAnswer = named(
  'TransactionState',
  z.object({
    transactionId: z.string(),
    status: transactionStatus,
    businessId: z.string().nullable(),
    operation,
    data: json.optional(),
    error: z
      .object({ code: z.string(), message: z.string(), upstreamStatus: z.number().optional() })
      .optional(),
    releaseAt: isoTime.optional(),
    approval: agentApproval.optional(),
    receipt: compactJws.optional(),
    createdAt: isoTime,
    updatedAt: isoTime,
  }),
);

const hexHash = z
  .string()
  .regex(/^[0-9a-f]{64}$/)
  .describe('A SHA-256 hash, lowercase hex.');

export const receiptLog = z
  .object({
    index: z.number().int().min(0).describe("The receipt's leaf index in its workspace's ledger log."),
    size: z.number().int().min(1).describe('The size of the tree the checkpoint signs.'),
    inclusionProof: z
      .array(hexHash)
      .describe('The RFC 9162 §2.1.3 audit path from the leaf to the root, leaf side first.'),
    checkpoint: compactJws.describe('The signed checkpoint (typ warden-checkpoint+jws) of that tree.'),
  })
  .nullable()
  .describe('Null until the sequencer appends the receipt (within LEDGER_SEQUENCE_MS).');

export const receiptAnswer = named(
  'Receipt',
  z.object({
    transactionId: z.string(),
    receipt: compactJws,
    payload: jsonObject.describe('The receipt payload, decoded (docs/api.md, Receipts).'),
    log: receiptLog,
  }),
);

export const checkpointAnswer = named(
  'LedgerCheckpoint',
  z.object({
    checkpoint: compactJws,
    payload: z.object({
      v: z.literal(1),
      workspaceId: z.string(),
      size: z.number().int().min(1),
      root: hexHash,
      issuedAt: z.string(),
    }),
  }),
);

export const consistencyAnswer = named(
  'ConsistencyProof',
  z.object({
    from: z.number().int(),
    to: z.number().int(),
    proof: z.array(hexHash).describe('The RFC 9162 §2.1.4 consistency proof.'),
  }),
);

export const entriesAnswer = named(
  'LedgerEntries',
  z.object({
    entries: z.array(
      z.union([
        z.object({ index: z.number().int(), kind: z.literal('receipt'), jws: compactJws }),
        z.object({ index: z.number().int(), kind: z.literal('audit'), id: z.string(), hash: hexHash }),
      ]),
    ),
    size: z.number().int().describe("The newest checkpoint's size: entries at or past it are not listed."),
  }),
);

export const businessView = named(
  'Business',
  z.object({
    id: z.string(),
    name: z.string(),
    category: z.string(),
    description: z.string(),
  }),
);

export const businessesAnswer = z.object({ businesses: z.array(businessView) });

/** Examples in the document; test/api/openapi.test.ts validates each against its schema. */
const txn = 'txn_01JF3Q7Z8X4M2N6P5R9S0T1V2W';
const receipt =
  'eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.eyJ2IjoxLCJ0cmFuc2FjdGlvbklkIjoidHhuXzAxIn0.c2lnbmF0dXJl';
export const EXAMPLES = {
  discover: {
    transactionId: txn,
    status: 'succeeded',
    data: { business: { id: 'echo', name: 'Echo', category: 'testing' }, operations: ['query', 'execute'] },
  },
  prepare: {
    confirmationToken: 'ct_6Jq2h8Zc0b4FQpP9mY3sRw',
    expiresAt: '2026-12-02T12:05:00.000Z',
    summary: 'execute on echo: {"amount_cents":4200,"item":"book"}',
  },
  executed: { transactionId: txn, status: 'succeeded', data: { orderId: '991' }, receipt },
  parked: {
    transactionId: txn,
    status: 'pending_approval',
    approval: {
      id: 'apr_01JF3Q7Z8X4M2N6P5R9S0T1V2X',
      stages: [{ index: 0, role: 'approver', tier: 'standard', status: 'pending' }],
      expiresAt: '2026-12-02T13:00:00.000Z',
    },
  },
  status: {
    transactionId: txn,
    status: 'succeeded',
    businessId: 'echo',
    operation: 'execute',
    data: { orderId: '991' },
    receipt,
    createdAt: '2026-12-02T12:00:00.000Z',
    updatedAt: '2026-12-02T12:00:00.120Z',
  },
} as const;

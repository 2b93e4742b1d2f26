/**
 * The ledger log's sequencer: one pass over every log with entries waiting (run by gateway/jobs/sequencer.ts).
 */
export { appendBatch, type StepResult, sequenceLedger } from './sequencer.ts';

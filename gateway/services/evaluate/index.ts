/**
 * The business-facing evaluate API: a business asks for a decision on a request it will run itself,
 * then reports how it went.
 */
export { evaluate, reportEvaluation } from './evaluate.ts';

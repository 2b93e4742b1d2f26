import { z } from 'zod';
import { agpRequestSchema, businessIdSchema } from '../../agp/schema.ts';

/** Shapes more than one tool declares (each tool's own are in its file, built once at load). */

export const TRANSACTION_ID = z.string().describe('The ledger id: pass it to get_status.');

/** A business and the business-specific request (query, prepare_execute). */
export const CALL_INPUT = { businessId: businessIdSchema, request: agpRequestSchema };

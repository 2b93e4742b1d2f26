import { z } from 'zod';

export const businessIdSchema = z.string().min(1).max(128);
export const agpRequestSchema = z.record(z.string(), z.unknown());

export const discoverBody = z.object({ businessId: businessIdSchema });
export const operationBody = z.object({ businessId: businessIdSchema, request: agpRequestSchema });
export const businessesQuery = z.object({
  category: z.string().max(128).optional(),
  q: z.string().max(200).optional(),
});
/** DESIGN §4: an Idempotency-Key is at most 255 characters. */
export const idempotencyKeySchema = z.string().min(1).max(255);

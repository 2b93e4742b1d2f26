import type { Analytics, AnalyticsGranularity } from '../domain/analytics.ts';
import { GatewayError } from '../domain/index.ts';
import type { ServiceContext } from './context.ts';

export interface AnalyticsInput {
  /** Epoch ms, inclusive. */
  from: number;
  /** Epoch ms, exclusive. */
  to: number;
  granularity: AnalyticsGranularity;
}

/** Analytics of the caller's workspace over [from, to) (issue 14, item 6). */
export async function computeAnalytics({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: AnalyticsInput;
}): Promise<Analytics> {
  void ctx;
  void input;
  throw new GatewayError('INTERNAL_ERROR', 'Analytics are not implemented yet.');
}

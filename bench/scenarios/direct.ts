import { FORWARDED_BODY, SUCCEEDED } from '../config.ts';
import { httpLoad } from '../drivers/http-load.ts';
import type { Scenario } from './types.ts';

/** The stand-in upstream on its own: the ceiling every other figure is compared with. */
export const direct: Scenario = {
  id: 'direct',
  label: 'direct upstream',
  unit: 'req/s',
  run: async ({ upstream, settings }) => ({
    load: await httpLoad(
      { url: upstream.url, path: '/agp/execute', body: FORWARDED_BODY, expectBodyIncludes: SUCCEEDED },
      settings,
    ),
    notes: ['node:http stand-in, body as the gateway forwards it'],
  }),
};

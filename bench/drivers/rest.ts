import { AGENT_BODY, SUCCEEDED } from '../config.ts';
import { workerLoad } from '../lib/load.ts';
import { wrkPairs } from '../lib/wrk.ts';
import { httpLoad, useWrk } from './http-load.ts';
import type { GatewayDriver } from './types.ts';

/** Open mode: every request is an execute, no token. */
export const executeDriver: GatewayDriver = async (gateway, key, settings) => {
  const load = await httpLoad(
    {
      url: gateway.url,
      path: '/agp/execute',
      headers: { authorization: `Bearer ${key}` },
      body: AGENT_BODY,
      expectBodyIncludes: SUCCEEDED,
    },
    settings,
  );
  return { load, okExecutes: load.okRequestsIncludingWarmup };
};

/** Confirm mode: each worker runs prepare, then execute with the token; a unit is the pair. */
export const confirmPairsDriver: GatewayDriver = async (gateway, key, settings) => {
  if (useWrk) {
    const load = await wrkPairs({ url: gateway.url, key, body: AGENT_BODY }, settings);
    return { load, okExecutes: load.okRequestsIncludingWarmup };
  }
  const auth = { authorization: `Bearer ${key}` };
  let okExecutes = 0;
  const load = await workerLoad(gateway.url, settings, async (send) => {
    const prepared = await send('/agp/execute/prepare', AGENT_BODY, auth);
    if (prepared.status !== 200) return;
    const token: unknown = (JSON.parse(prepared.body) as { confirmationToken?: unknown }).confirmationToken;
    if (typeof token !== 'string') throw new Error(`prepare answered 200 without a token: ${prepared.body}`);
    const executed = await send('/agp/execute', AGENT_BODY, { ...auth, 'x-confirmation-token': token });
    if (executed.status !== 200) return;
    okExecutes++;
    if (!executed.body.includes(SUCCEEDED))
      throw new Error(`execute did not succeed: ${executed.body.slice(0, 300)}`);
  });
  return { load, okExecutes };
};

/** REST execute through the same worker client as the MCP session driver: the like-for-like reference. */
export const restWorkerDriver: GatewayDriver = async (gateway, key, settings) => {
  let okExecutes = 0;
  const load = await workerLoad(gateway.url, settings, async (send) => {
    const res = await send('/agp/execute', AGENT_BODY, { authorization: `Bearer ${key}` });
    if (res.status !== 200) return;
    if (!res.body.includes(SUCCEEDED)) throw new Error(`execute did not succeed: ${res.body.slice(0, 300)}`);
    okExecutes++;
  });
  return { load, okExecutes };
};

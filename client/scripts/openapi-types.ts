import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString, COMMENT_HEADER, type OpenAPI3 } from 'openapi-typescript';
import { loadConfig } from '../../config/index.ts';
import { createGateway } from '../../gateway/app.ts';

/**
 * The client's types, generated from the gateway's own OpenAPI document (`npm run client:types`),
 * never copied by hand: `client/src/generated/openapi.ts`. Only the routes an agent calls are kept
 * (the agent API and the receipt keys), with the components they reference, so a change to the
 * workspace or operator API does not touch the client. test/client/types-drift.test.ts fails while
 * the committed file differs from a fresh generation.
 */

export const GENERATED_FILE = join(dirname(fileURLToPath(import.meta.url)), '../src/generated/openapi.ts');

/** The paths an agent's client calls. */
const AGENT_PATH = /^\/(agp\/|\.well-known\/warden-keys$)/;

type Doc = OpenAPI3 & {
  paths?: Record<string, unknown>;
  components?: Record<string, Record<string, unknown>>;
};

/** Every `#/components/<kind>/<name>` reachable from `root`, following references into components. */
function referenced(root: unknown, components: Doc['components'] = {}): Set<string> {
  const seen = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) for (const item of node) walk(item);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === '$ref' && typeof value === 'string' && value.startsWith('#/components/')) {
          if (seen.has(value)) continue;
          seen.add(value);
          const [, , kind = '', name = ''] = value.split('/');
          walk(components[kind]?.[name]);
        } else walk(value);
      }
    }
  };
  walk(root);
  return seen;
}

/** The document cut down to what the client calls. */
export function agentDocument(doc: Doc): Doc {
  const paths = Object.fromEntries(Object.entries(doc.paths ?? {}).filter(([path]) => AGENT_PATH.test(path)));
  const refs = referenced(paths, doc.components);
  const components: Record<string, Record<string, unknown>> = {};
  for (const [kind, entries] of Object.entries(doc.components ?? {})) {
    const kept = Object.entries(entries).filter(
      // Security schemes are named by the operations' `security`, not by $ref.
      ([name]) => kind === 'securitySchemes' || refs.has(`#/components/${kind}/${name}`),
    );
    if (kept.length > 0) components[kind] = Object.fromEntries(kept);
  }
  return { ...doc, paths, components } as Doc;
}

/** The TypeScript of the agent routes of `doc` (the gateway's /openapi.json). */
export async function clientTypes(doc: Doc): Promise<string> {
  const nodes = await openapiTS(agentDocument(structuredClone(doc)), {
    alphabetize: true,
    silent: true,
  });
  return `${COMMENT_HEADER}// Regenerate with \`npm run client:types\` (client/scripts/openapi-types.ts).\n\n${astToString(nodes)}`;
}

/** The gateway's document, from a gateway on a throw-away database. */
export async function gatewayDocument(): Promise<Doc> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-openapi-'));
  try {
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      DATABASE_URL: `file:${join(dir, 'warden.db')}`,
    });
    const gateway = await createGateway({ config, jobs: false });
    try {
      const res = await gateway.app.request('/openapi.json');
      return (await res.json()) as Doc;
    } finally {
      await gateway.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(GENERATED_FILE, await clientTypes(await gatewayDocument()));
  console.log(`wrote ${GENERATED_FILE}`);
}

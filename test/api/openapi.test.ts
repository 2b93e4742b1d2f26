import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ERROR_STATUS } from '../../gateway/domain/index.ts';
import { declaredRoutes, routeKey } from '../../gateway/routes/openapi/index.ts';
import { call, createTenant, registerEcho, startTestGateway, type TestGateway } from '../support/harness.ts';

/**
 * The API described by its code (issue 11): /openapi.json is generated from the route declarations,
 * an independent validator accepts it, every served route is in it, and every example in it
 * validates against its own schema. (Every answer of every other test is checked against the
 * document too: the harness turns on GatewayOptions.checkResponses.)
 */

type Operation = {
  responses: Record<string, { content?: Record<string, MediaType> }>;
  security?: Record<string, string[]>[];
  parameters?: { in: string; name: string }[];
};
type MediaType = { schema?: unknown; example?: unknown; examples?: Record<string, { value: unknown }> };
type Document = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components?: Record<string, Record<string, unknown>>;
};

describe('GET /openapi.json', () => {
  let gw: TestGateway;
  let doc: Document;

  beforeAll(async () => {
    gw = await startTestGateway();
    const res = await call(gw, 'GET', '/openapi.json');
    expect(res.status).toBe(200);
    doc = res.body as Document;
  });
  afterAll(() => gw?.dispose());

  it('is valid OpenAPI 3.1 to an independent validator', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(structuredClone(doc) as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('documents every route the app serves, and nothing it does not', () => {
    // Middleware and the approval page's catch-all are ALL; every handler of a method is a route.
    const served = [
      ...new Set(gw.app.routes.filter((r) => r.method !== 'ALL').map((r) => routeKey(r.method, r.path))),
    ].sort();
    const documented = Object.entries(doc.paths)
      .flatMap(([path, ops]) =>
        Object.keys(ops).map((method) => routeKey(method, path.replace(/\{(\w+)\}/g, ':$1'))),
      )
      .sort();
    expect(served.length).toBeGreaterThan(50);
    expect(documented).toEqual(served);
    expect([...declaredRoutes(gw.app).keys()].sort()).toEqual(served);
  });

  it('names who may call each route, and the refusals that brings', () => {
    const execute = doc.paths['/agp/execute']?.post as Operation;
    expect(execute.security).toEqual([{ agentKey: ['execute'] }, { agentKeyHeader: ['execute'] }]);
    expect(doc.paths['/agp/status/{transactionId}']?.get?.security).toEqual([
      { agentKey: [] },
      { agentKeyHeader: [] },
    ]);
    expect(doc.paths['/v1/keys']?.post?.security).toEqual([{ memberToken: ['admin', 'developer'] }]);
    expect(doc.paths['/v1/keys']?.get?.security).toEqual([{ memberToken: [] }]);
    const forbidden = execute.responses['403']?.content?.['application/json']?.examples ?? {};
    // Every 403 of DESIGN §4's execute table is listed with its code.
    for (const code of [
      'CONFIRMATION_REQUIRED',
      'CONFIRMATION_UNVERIFIABLE',
      'CONFIRMATION_INVALID',
      'CONFIRMATION_EXPIRED',
      'CONFIRMATION_MISMATCH',
      'AMOUNT_LIMIT_EXCEEDED',
      'POLICY_REJECTED',
    ]) {
      expect(Object.keys(forbidden)).toContain(code);
    }
    expect(Object.keys(execute.responses).sort()).toEqual(
      ['200', '202', '400', '401', '403', '409', '413', '422', '429', '500', '502', '503', '504'].sort(),
    );
    expect(doc.paths['/v1/admin/workspaces']?.post?.security).toEqual([{ operatorToken: [] }]);
    expect(doc.paths['/health']?.get?.security).toEqual([]);
    expect(doc.paths['/v1/transactions/{id}']?.get?.parameters).toEqual([
      expect.objectContaining({ in: 'path', name: 'id' }),
    ]);
  });

  it('every error response is generated from the one code→status table', () => {
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        for (const [status, response] of Object.entries(op.responses)) {
          const examples = response.content?.['application/json']?.examples;
          if (!examples || Number(status) < 400) continue;
          for (const code of Object.keys(examples)) {
            expect(
              ERROR_STATUS[code as keyof typeof ERROR_STATUS],
              `${method} ${path} ${status} ${code}`,
            ).toBe(Number(status));
          }
        }
      }
    }
  });

  it('every example validates against the schema beside it (JSON Schema 2020-12)', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
    ajv.addFormat('email', /^[^@\s]+@[^@\s]+$/);
    ajv.addFormat('uri', /^[a-z][a-z0-9+.-]*:/i);
    let checked = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        for (const [status, response] of Object.entries(op.responses)) {
          const media = response.content?.['application/json'];
          if (!media?.schema) continue;
          const validate = ajv.compile({ ...(media.schema as object), components: doc.components });
          const examples = [
            ...(media.example === undefined ? [] : [media.example]),
            ...Object.values(media.examples ?? {}).map((e) => e.value),
          ];
          for (const example of examples) {
            checked++;
            expect(validate(example), `${method} ${path} ${status}: ${ajv.errorsText(validate.errors)}`).toBe(
              true,
            );
          }
        }
      }
    }
    // Every error response carries one example per code, and the agent routes carry success examples.
    expect(checked).toBeGreaterThan(300);
  });

  it('a documented answer that drifts is caught: the check names the route and the problem', async () => {
    const tenant = await createTenant(gw);
    await registerEcho(gw);
    const spec = declaredRoutes(gw.app).get(routeKey('GET', '/agp/businesses'));
    expect(spec).toBeDefined();
    const answer = spec?.responses[200];
    const original = answer?.schema;
    try {
      // Pretend the document promised a field the route does not send.
      if (answer) answer.schema = z.object({ businesses: z.string() });
      const res = await call(gw, 'GET', '/agp/businesses', { key: tenant.agentKey });
      expect(res.status).toBe(500);
      expect(res.body.error).toMatch(/Undocumented answer from GET \/agp\/businesses: 200 does not match/);
    } finally {
      if (answer) answer.schema = original;
    }
    expect((await call(gw, 'GET', '/agp/businesses', { key: tenant.agentKey })).status).toBe(200);
  });
});

describe('GET /docs', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(() => gw?.dispose());

  it('is an API reference page reading /openapi.json', async () => {
    const res = await gw.app.request('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('/openapi.json');
    expect(html).toContain('<title>Warden API</title>');
  });
});

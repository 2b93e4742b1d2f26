import { readdirSync, readFileSync } from 'node:fs';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ERROR_STATUS } from '../../gateway/domain/index.ts';
import { DOCUMENT_TAGS, declaredRoutes, route, routeKey } from '../../gateway/routes/openapi/index.ts';
import { call, createTenant, registerEcho, startTestGateway, type TestGateway } from '../support/harness.ts';

/**
 * The API described by its code (issue 11): /openapi.json is generated from the route declarations,
 * an independent validator accepts it, every served route is in it, and every example in it
 * validates against its own schema. (Every answer of every other test is checked against the
 * document too: the harness turns on GatewayOptions.checkResponses.)
 */

type Operation = {
  operationId?: string;
  tags?: string[];
  requestBody?: { content: Record<string, MediaType> };
  responses: Record<string, { content?: Record<string, MediaType> }>;
  security?: Record<string, string[]>[];
  parameters?: { in: string; name: string }[];
};
type MediaType = { schema?: unknown; example?: unknown; examples?: Record<string, { value: unknown }> };
type Document = {
  openapi: string;
  servers?: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components?: Record<string, Record<string, unknown>>;
};

describe('GET /openapi.json', () => {
  let gw: TestGateway;
  let doc: Document;

  beforeAll(async () => {
    gw = await startTestGateway({ env: { PUBLIC_BASE_URL: 'https://warden.example.test/' } });
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

  it("passes Redocly's recommended rules with no error (an independent linter)", async () => {
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({
      source: JSON.stringify(doc),
      absoluteRef: 'openapi.json',
      config,
    });
    const errors = problems
      .filter((p) => p.severity === 'error')
      .map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`);
    expect(errors).toEqual([]);
    // The rule that flagged every operation before issue 21 is quiet now.
    expect(problems.filter((p) => p.ruleId === 'operation-operationId')).toEqual([]);
  });

  it('names every operation once, in camelCase, for generated clients', () => {
    const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((op) => op.operationId));
    expect(ids.length).toBeGreaterThan(100);
    for (const id of ids) expect(id).toMatch(/^[a-z][A-Za-z0-9]*$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect(doc.paths['/agp/execute']?.post?.operationId).toBe('execute');
    expect(doc.paths['/v1/transactions/{id}']?.get?.operationId).toBe('getTransaction');
    expect(doc.paths['/console/approvals/{id}']?.get?.operationId).toBe('consoleApprovalsByIdPage');
  });

  it('a second route with a taken operationId is refused when it is declared', () => {
    const spec = declaredRoutes(gw.app).get(routeKey('GET', '/health'));
    expect(spec).toBeDefined();
    if (!spec) return;
    expect(() => route(gw.app, { ...spec, path: '/health-again' }, (c) => c.text(''))).toThrow(
      /operationId getHealth is taken/,
    );
  });

  it('names its one server after PUBLIC_BASE_URL, and groups operations under declared tags', () => {
    expect(doc.servers?.map((s) => s.url)).toEqual(['https://warden.example.test']);
    const used = new Set(
      Object.values(doc.paths).flatMap((ops) => Object.values(ops).flatMap((op) => op.tags)),
    );
    expect([...used].sort()).toEqual([...DOCUMENT_TAGS].sort());
  });

  it('names the shapes a client works with, and the routes refer to them', () => {
    const schemas = doc.components?.schemas ?? {};
    for (const name of [
      'Error',
      'Transaction',
      'TransactionDetail',
      'Approval',
      'Receipt',
      'PolicyDocument',
    ]) {
      expect(Object.keys(schemas)).toContain(name);
    }
    const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
    const json = (op: Operation | undefined, status: string) =>
      op?.responses[status]?.content?.['application/json'];
    expect(json(doc.paths['/v1/transactions/{id}']?.get, '200')?.schema).toEqual(ref('TransactionDetail'));
    expect(json(doc.paths['/v1/approvals/{id}']?.get, '200')?.schema).toEqual(ref('Approval'));
    expect(json(doc.paths['/agp/receipts/{transactionId}']?.get, '200')?.schema).toEqual(ref('Receipt'));
    expect(doc.paths['/v1/policies/{name}']?.put?.requestBody?.content['application/json']?.schema).toEqual(
      ref('PolicyDocument'),
    );
    // Every error answer is an Error whose code is narrowed to the operation's own.
    expect(json(doc.paths['/agp/execute']?.post, '403')?.schema).toMatchObject({ allOf: [ref('Error'), {}] });
  });

  it('types the policy document from the validator: every example policy passes, a wrong one does not', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    const validate = ajv.compile({ $ref: '#/components/schemas/PolicyDocument', components: doc.components });
    const folder = new URL('../../examples/policies/', import.meta.url);
    const files = readdirSync(folder).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(8);
    for (const file of files) {
      const policy = JSON.parse(readFileSync(new URL(file, folder), 'utf8'));
      expect(validate(policy), `${file}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    }
    const rule = { id: 'r', action: 'reject', reason: 'no' };
    for (const wrong of [
      { rules: [{ ...rule, conditions: [{ field: 'amount', op: 'about', value: 1 }] }] },
      { rules: [{ ...rule, conditions: [{ any: [{ context: 'weather', op: 'eq', value: 'rain' }] }] }] },
      { rules: [{ ...rule, colour: 'red' }] },
      { default_action: 'maybe' },
    ]) {
      expect(validate(wrong), JSON.stringify(wrong)).toBe(false);
    }
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

  it('is an API reference page reading /openapi.json, its script served here under a CSP', async () => {
    const res = await gw.app.request('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    // The console's policy, widened for styles the bundle adds at run time and nothing else.
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("connect-src 'self';");
    expect(csp).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).toContain('<a href="/openapi.json">');
    expect(html).toContain('<title>Warden API</title>');
    expect(html).not.toMatch(/https?:\/\//);
    const src = html.match(/<script src="(\/docs\/assets\/scalar\.[0-9a-f]{16}\.js)"/)?.[1];
    expect(src).toBeDefined();
    const script = await gw.app.request(src ?? '');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await script.text()).length).toBeGreaterThan(1_000_000);
    expect((await gw.app.request('/docs/assets/scalar.0000000000000000.js')).status).toBe(404);
  });
});

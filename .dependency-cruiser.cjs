/**
 * The layering of DESIGN §2 and STYLE 12–13, checked on every `npm run lint`: a wrong import fails
 * the build instead of waiting for a reviewer to notice. Tests live under test/ (the first rule)
 * and may import anything.
 */
const SOURCE = { path: '^(gateway|policy|adapters|config)/', pathNot: '\\.test\\.tsx?$' };
const IO_PACKAGES = '^(drizzle-orm|drizzle-kit|hono|@hono/|undici|postgres|libsql|@libsql/|pino|nodemailer)';

module.exports = {
  forbidden: [
    {
      name: 'tests-live-under-test',
      comment:
        'Unit tests live under test/, mirroring the source folders (test/middleware/, test/services/, …), ' +
        'never beside the code: one convention, so a newcomer finds every test in one tree.',
      severity: 'error',
      from: { path: '\\.test\\.tsx?$', pathNot: '^test/' },
      to: {},
    },
    {
      name: 'policy-is-pure',
      comment: 'policy/ decides from facts: no gateway, no adapters, no I/O (DESIGN §2).',
      severity: 'error',
      from: { path: '^policy/', pathNot: SOURCE.pathNot },
      to: {
        path: [
          '^(gateway|adapters)/',
          IO_PACKAGES,
          '^(fs|net|http|https|http2|dgram|child_process|worker_threads)$',
        ],
      },
    },
    {
      name: 'adapters-know-no-gateway',
      comment: 'adapters/ turn an AGP operation into a call on a business; they import policy/ types only.',
      severity: 'error',
      from: { path: '^adapters/', pathNot: SOURCE.pathNot },
      to: { path: '^gateway/' },
    },
    {
      name: 'routes-call-services',
      comment:
        'Routes, the console and middleware parse, call a service, map the answer; they never reach the database.',
      severity: 'error',
      from: { path: '^gateway/(routes|console|middleware)/', pathNot: SOURCE.pathNot },
      to: { path: '^gateway/(repositories|db)/' },
    },
    {
      name: 'api-knows-no-console',
      comment:
        'routes/ is the JSON API; the console (pages, the emailed approval page) builds on it, never the reverse.',
      severity: 'error',
      from: { path: '^gateway/(routes|middleware)/', pathNot: SOURCE.pathNot },
      to: { path: '^gateway/console/' },
    },
    {
      name: 'services-know-no-http',
      comment: 'Services throw typed errors and know nothing of HTTP (STYLE 4).',
      severity: 'error',
      from: { path: '^gateway/services/', pathNot: SOURCE.pathNot },
      to: { path: ['^gateway/(routes|console|middleware)/', '^(hono|@hono/)'] },
    },
    {
      name: 'repositories-only-read-and-write',
      comment:
        'Repositories take a connection and read and write; no rules, no services, no HTTP (STYLE 12).',
      severity: 'error',
      from: { path: '^gateway/repositories/', pathNot: SOURCE.pathNot },
      to: {
        path: ['^gateway/(services|routes|console|middleware|jobs|notify)/', '^(hono|@hono/)'],
      },
    },
    {
      name: 'db-is-below-everything',
      comment: 'The database primitive knows no repository, service or route.',
      severity: 'error',
      from: { path: '^gateway/db/', pathNot: SOURCE.pathNot },
      to: { path: '^gateway/(repositories|services|routes|console|middleware|jobs|notify)/' },
    },
    {
      name: 'domain-is-a-leaf',
      comment: 'gateway/domain holds plain types every layer may import; it imports no other layer.',
      severity: 'error',
      from: { path: '^gateway/domain/', pathNot: SOURCE.pathNot },
      to: { path: ['^gateway/(?!domain/)', IO_PACKAGES] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.tsx', '.js', '.json'] },
  },
};

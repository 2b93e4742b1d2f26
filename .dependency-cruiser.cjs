/**
 * The layering of DESIGN §2 and STYLE 12–13, checked on every `npm run lint`: a wrong import fails
 * the build instead of waiting for a reviewer to notice. Tests live under test/ (the first rule)
 * and may import anything.
 */
const SOURCE = { path: '^(gateway|policy|adapters|config)/', pathNot: '\\.test\\.tsx?$' };
/** A file behind a services folder's index. */
const SERVICE_INTERNALS = '^gateway/services/[^/]+/(?!index\\.ts$)';
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
      name: 'client-stands-alone',
      comment:
        '@warden/client is published on its own: its source imports its own files and its declared ' +
        'dependencies (jose, canonicalize), never the gateway it talks to over HTTP.',
      severity: 'error',
      from: { path: '^client/src/' },
      to: {
        pathNot: ['^client/src/', '(^|/)node_modules/(jose|canonicalize)/'],
        dependencyTypes: ['local', 'npm'],
      },
    },
    {
      name: 'client-browser-entry-has-no-node',
      comment:
        'The browser and edge entry of @warden/client uses fetch and Web Crypto only; Node built-ins ' +
        'are for its node entry (client/src/node.ts).',
      severity: 'error',
      from: { path: '^client/src/', pathNot: '^client/src/node\\.ts$' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'examples-use-the-published-client',
      comment:
        "The example agents import @warden/client as a user would, never the gateway or the client's files.",
      severity: 'error',
      from: { path: '^examples/' },
      to: { path: '^(gateway|policy|adapters|config|client/src/(?!node\\.ts$))' },
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
    {
      name: 'no-circular',
      comment:
        'No module reaches itself through its imports, type-only ones included: a cycle hides which ' +
        'side is the lower layer, and between barrels it decides load order by accident.',
      severity: 'error',
      from: SOURCE,
      to: { circular: true },
    },
    {
      name: 'notify-is-transport',
      comment:
        'gateway/notify/ sends what it is given (mail, signed webhook POSTs) and formats it; what to ' +
        'send and when (the outbox, approval links) is decided in services/.',
      severity: 'error',
      from: { path: '^gateway/notify/', pathNot: SOURCE.pathNot },
      to: { path: '^gateway/(services|jobs|repositories|db)/' },
    },
    {
      name: 'jobs-call-services-only',
      comment: 'Jobs only schedule: each round is a service verb; they never read or write the database.',
      severity: 'error',
      from: { path: '^gateway/jobs/', pathNot: SOURCE.pathNot },
      to: { path: '^gateway/(repositories|db)/' },
    },
    {
      name: 'services-folders-are-entered-by-their-index',
      comment:
        'Each folder of gateway/services/ (execute/, approvals/, …) has an index.ts that is its public ' +
        'face: other folders import it, not the files behind it (STYLE 15).',
      severity: 'error',
      from: { path: '^gateway/services/([^/]+)/', pathNot: SOURCE.pathNot },
      to: { path: SERVICE_INTERNALS, pathNot: '^gateway/services/$1/' },
    },
    {
      name: 'services-folders-are-entered-by-their-index',
      comment:
        'The same for every other layer (routes, the console, middleware, jobs, notify). context.ts, which every folder imports, takes the types ' +
        'Deps is made of from their own files, so that no index imports itself through it.',
      severity: 'error',
      from: {
        path: SOURCE.path,
        pathNot: [SOURCE.pathNot, '^gateway/services/[^/]+/', '^gateway/services/context\\.ts$'],
      },
      to: { path: SERVICE_INTERNALS },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.tsx', '.js', '.json'] },
  },
};

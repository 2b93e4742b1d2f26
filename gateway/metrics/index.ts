import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * What Warden tells Prometheus (DESIGN §5 "Ops": GET /metrics). One registry per gateway, never
 * prom-client's global one, so several gateways in one process (tests, replicas) keep their own
 * numbers. Recording sits on the hot path: label children are looked up once and kept, so a request
 * costs a few Map lookups, one counter increment and one histogram observation.
 */

/** What a policy decided for a new execute or evaluation (the Decision outcomes of policy/). */
export type DecisionOutcome = 'auto_approve' | 'approval' | 'queue' | 'reject';
/** How an adapter call ended: answered, failed before acting, timed out, or lost after sending. */
export type AdapterCallLabel = 'success' | 'error' | 'timeout' | 'unknown';

/** Reads behind the gauges, run on each scrape (cheap COUNTs on indexed columns). */
export interface GaugeSources {
  approvalsPending(): Promise<number>;
  outboxBacklog(): Promise<number>;
  /** Receipts and audit events committed and not yet appended to the ledger log. */
  ledgerBacklog(): Promise<number>;
  /** A failing read leaves its gauge out of that scrape rather than failing the whole scrape. */
  onError?(error: unknown, gauge: string): void;
}

export interface MetricsOptions {
  /** Node.js and process metrics (event-loop delay, heap, CPU, handles); tests may leave them out. */
  defaultMetrics?: boolean;
  /** Request latency buckets in seconds. */
  httpBuckets?: number[];
  adapterBuckets?: number[];
}

export interface Metrics {
  readonly registry: Registry;
  /** The Content-Type of `scrape()`'s text (Prometheus exposition format 0.0.4). */
  readonly contentType: string;
  http(method: string, route: string, status: number, seconds: number): void;
  decision(outcome: DecisionOutcome): void;
  adapterCall(business: string, outcome: AdapterCallLabel, seconds: number): void;
  /** One group commit of `size` transactions (GroupCommit's onBatch). */
  batch(size: number): void;
  /** A business's circuit breaker opened (true) or closed (false); called on transitions only. */
  breakerOpen(business: string, open: boolean): void;
  /** A call refused by an open circuit breaker. */
  breakerRejection(business: string): void;
  /** A call refused because no slot of its business freed in time (ADAPTER_MAX_CONCURRENCY). */
  adapterQueueRejection(business: string): void;
  /** An entry appended to the ledger log `seconds` after the commit that wrote it (DESIGN §9). */
  ledgerLag(seconds: number): void;
  /** How long a transaction held its workspace's lock (PostgreSQL admission, DESIGN §8). */
  workspaceLockHeld(seconds: number): void;
  /** Binds the scrape-time gauges to their reads (once the database is open). */
  watch(sources: GaugeSources): void;
  scrape(): Promise<string>;
}

/** Route label of a request no route matched: raw paths would make a series per URL. */
export const UNMATCHED = 'unmatched';

/** Methods kept as their own label value; anything else is `OTHER` (an unknown token is a new series). */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

const DEFAULT_HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const DEFAULT_ADAPTER_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** GroupCommit batches hold at most 256 transactions. */
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

export function createMetrics({
  defaultMetrics = true,
  httpBuckets = DEFAULT_HTTP_BUCKETS,
  adapterBuckets = DEFAULT_ADAPTER_BUCKETS,
}: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (defaultMetrics) collectDefaultMetrics({ register: registry });

  const requests = new Counter({
    name: 'warden_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const durations = new Histogram({
    name: 'warden_http_request_duration_seconds',
    help: 'Time to answer an HTTP request (until the response is built), by method and route pattern.',
    labelNames: ['method', 'route'] as const,
    buckets: httpBuckets,
    registers: [registry],
  });
  const decisions = new Counter({
    name: 'warden_decisions_total',
    help: 'Admission decisions on new executes and evaluations, by outcome.',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const adapter = new Histogram({
    name: 'warden_adapter_request_duration_seconds',
    help: 'Time a business took to answer an adapter call, by business and outcome.',
    labelNames: ['business', 'outcome'] as const,
    buckets: adapterBuckets,
    registers: [registry],
  });
  const batches = new Histogram({
    name: 'warden_db_commit_batch_size',
    help: 'Write transactions that shared one database commit (group commit).',
    buckets: BATCH_BUCKETS,
    registers: [registry],
  });
  const breakerOpen = new Gauge({
    name: 'warden_breaker_open',
    help: 'Whether the circuit breaker of a business is open or half-open (1) or closed (0), on this replica.',
    labelNames: ['business'] as const,
    registers: [registry],
  });
  const breakerRejections = new Counter({
    name: 'warden_breaker_rejections_total',
    help: 'Calls refused by an open circuit breaker (503 ADAPTER_UNAVAILABLE), by business.',
    labelNames: ['business'] as const,
    registers: [registry],
  });
  const queueRejections = new Counter({
    name: 'warden_adapter_queue_rejections_total',
    help: 'Calls refused because the calls in flight to their business stayed at its cap for ADAPTER_QUEUE_TIMEOUT_MS (503 ADAPTER_UNAVAILABLE), by business.',
    labelNames: ['business'] as const,
    registers: [registry],
  });
  const ledgerLag = new Histogram({
    name: 'warden_ledger_sequence_lag_seconds',
    help: 'Time from the commit of a receipt or audit event to its append to the ledger log.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 5, 10, 30, 60],
    registers: [registry],
  });
  const lockHeld = new Histogram({
    name: 'warden_db_workspace_lock_hold_seconds',
    help: "Time a write transaction held its workspace's lock (PostgreSQL), from taking it to commit.",
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  let sources: GaugeSources | undefined;
  const gauge = (name: string, help: string, read: (s: GaugeSources) => Promise<number>) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        if (!sources) return;
        try {
          this.set(await read(sources));
        } catch (error) {
          this.reset();
          sources.onError?.(error, name);
        }
      },
    });
  gauge('warden_approvals_pending', 'Approvals waiting for a decision, in every workspace.', (s) =>
    s.approvalsPending(),
  );
  gauge(
    'warden_ledger_backlog',
    'Receipts and audit events committed and not yet appended to the ledger log.',
    (s) => s.ledgerBacklog(),
  );
  gauge('warden_outbox_backlog', 'Outbox deliveries (emails, webhooks, callbacks) not yet delivered.', (s) =>
    s.outboxBacklog(),
  );

  // Children by method → route → status: no string is built per request to find one.
  type RequestChildren = {
    count: Map<number, Counter.Internal>;
    duration: Histogram.Internal<'method' | 'route'>;
  };
  const byMethod = new Map<string, Map<string, RequestChildren>>();
  const decisionChildren = new Map<DecisionOutcome, Counter.Internal>();
  const rejectionChildren = new Map<string, Counter.Internal>();
  const adapterChildren = new Map<
    string,
    Map<AdapterCallLabel, Histogram.Internal<'business' | 'outcome'>>
  >();

  // Plain get-then-set (no closures): these run on every request.
  return {
    registry,
    contentType: registry.contentType,
    http(rawMethod, route, status, seconds) {
      const method = METHODS.has(rawMethod) ? rawMethod : 'OTHER';
      let routes = byMethod.get(method);
      if (routes === undefined) {
        routes = new Map();
        byMethod.set(method, routes);
      }
      let children = routes.get(route);
      if (children === undefined) {
        children = { count: new Map(), duration: durations.labels(method, route) };
        routes.set(route, children);
      }
      let counter = children.count.get(status);
      if (counter === undefined) {
        counter = requests.labels(method, route, String(status));
        children.count.set(status, counter);
      }
      counter.inc();
      children.duration.observe(seconds);
    },
    decision(outcome) {
      let child = decisionChildren.get(outcome);
      if (child === undefined) {
        child = decisions.labels(outcome);
        decisionChildren.set(outcome, child);
      }
      child.inc();
    },
    adapterCall(business, outcome, seconds) {
      let outcomes = adapterChildren.get(business);
      if (outcomes === undefined) {
        outcomes = new Map();
        adapterChildren.set(business, outcomes);
      }
      let child = outcomes.get(outcome);
      if (child === undefined) {
        child = adapter.labels(business, outcome);
        outcomes.set(outcome, child);
      }
      child.observe(seconds);
    },
    batch(size) {
      batches.observe(size);
    },
    breakerOpen(business, open) {
      breakerOpen.labels(business).set(open ? 1 : 0);
    },
    breakerRejection(business) {
      let child = rejectionChildren.get(business);
      if (child === undefined) {
        child = breakerRejections.labels(business);
        rejectionChildren.set(business, child);
      }
      child.inc();
    },
    adapterQueueRejection(business) {
      // Off the hot path: only a call refused after waiting gets here.
      queueRejections.labels(business).inc();
    },
    ledgerLag(seconds) {
      ledgerLag.observe(seconds);
    },
    workspaceLockHeld(seconds) {
      lockHeld.observe(seconds);
    },
    watch(next) {
      sources = next;
    },
    scrape: () => registry.metrics(),
  };
}

/** METRICS_ENABLED=false: nothing recorded, nothing collected (the hot path pays one empty call). */
export function disabledMetrics(): Metrics {
  const registry = new Registry();
  const nothing = () => undefined;
  return {
    registry,
    contentType: registry.contentType,
    http: nothing,
    decision: nothing,
    adapterCall: nothing,
    batch: nothing,
    breakerOpen: nothing,
    breakerRejection: nothing,
    adapterQueueRejection: nothing,
    ledgerLag: nothing,
    workspaceLockHeld: nothing,
    watch: nothing,
    scrape: () => registry.metrics(),
  };
}

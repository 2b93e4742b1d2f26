/**
 * Group commit (DESIGN §8): writes that arrive in the same event-loop turn share one database
 * transaction, so one commit makes many requests durable. Each job runs in its own savepoint:
 * a job that throws is rolled back alone and its caller gets the error, the others still commit.
 * Every caller's promise settles only after the commit that holds its write.
 */
export interface TransactionRunner<Tx> {
  /** Runs `fn` inside one write transaction and commits. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Runs `fn` inside a savepoint of `tx`, rolling back to it if `fn` throws. */
  savepoint<T>(tx: Tx, fn: (tx: Tx) => Promise<T>): Promise<T>;
}

interface Job<Tx> {
  run: (tx: Tx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export class GroupCommit<Tx> {
  #queue: Job<Tx>[] = [];
  #scheduled = false;
  #flushing = false;
  #waitingForIdle: (() => void)[] = [];

  constructor(
    private readonly runner: TransactionRunner<Tx>,
    private readonly maxBatch = 256,
  ) {}

  run<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ run: fn, resolve: resolve as (value: unknown) => void, reject });
      this.#schedule();
    });
  }

  /** Resolves once every queued write has settled (used at shutdown). */
  drained(): Promise<void> {
    if (!this.#flushing && !this.#scheduled) return Promise.resolve();
    return new Promise((resolve) => this.#waitingForIdle.push(resolve));
  }

  #schedule(): void {
    if (this.#scheduled || this.#flushing) return;
    this.#scheduled = true;
    // setImmediate runs after the current I/O phase, so every request parsed in this turn joins.
    setImmediate(() => void this.#flush());
  }

  async #flush(): Promise<void> {
    this.#scheduled = false;
    this.#flushing = true;
    const batch = this.#queue.splice(0, this.maxBatch);
    const outcomes: Outcome[] = [];
    try {
      await this.runner.transaction(async (tx) => {
        if (batch.length === 1) {
          const [only] = batch as [Job<Tx>];
          outcomes.push({ ok: true, value: await only.run(tx) });
          return;
        }
        for (const job of batch) {
          try {
            outcomes.push({ ok: true, value: await this.runner.savepoint(tx, job.run) });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      });
      batch.forEach((job, i) => {
        const outcome = outcomes[i] as Outcome;
        if (outcome.ok) job.resolve(outcome.value);
        else job.reject(outcome.error);
      });
    } catch (error) {
      // The commit (or a lone job) failed: nothing of this batch is durable.
      for (const job of batch) job.reject(error);
    } finally {
      this.#flushing = false;
      if (this.#queue.length > 0) this.#schedule();
      else for (const resolve of this.#waitingForIdle.splice(0)) resolve();
    }
  }
}

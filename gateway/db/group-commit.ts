/**
 * Group commit (DESIGN §8): transactions that arrive in the same event-loop turn share one database
 * transaction, so one commit makes many requests durable; every caller's promise settles only after
 * the commit that holds its writes.
 *
 * No savepoint per job: a job that throws rolls the whole batch back, and every job of the batch
 * then runs again in a transaction of its own, so the failing one fails alone and the others
 * commit. Jobs only read and write through their connection, so running one again is safe.
 */
export interface TransactionRunner<C> {
  /** Runs `fn` in one write transaction: commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (conn: C) => Promise<T>): Promise<T>;
}

interface Job<C> {
  run: (conn: C) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class GroupCommit<C> {
  #queue: Job<C>[] = [];
  #scheduled = false;
  #flushing = false;
  #idle: (() => void)[] = [];

  constructor(
    private readonly runner: TransactionRunner<C>,
    private readonly maxBatch = 256,
    /** Observes each batch's size (metrics, tests). */
    private readonly onBatch?: (size: number) => void,
    /**
     * Run a batch's jobs at once instead of one after another: their statements go out pipelined.
     * Only for jobs that need nothing but the atomicity of their own conditional statements.
     */
    private readonly parallel = false,
    /**
     * For jobs run one after another: gives each job a connection whose `handOff()` lets the next
     * job start before this one has finished (see Conn.handOff). Without it, each job waits for
     * the one before it to finish.
     */
    private readonly withHandOff?: (conn: C, handOff: () => void) => C,
  ) {}

  run<T>(fn: (conn: C) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ run: fn, resolve: resolve as (value: unknown) => void, reject });
      this.#schedule();
    });
  }

  /** True while a batch's database transaction is open (between its BEGIN and its COMMIT). */
  get busy(): boolean {
    return this.#flushing;
  }

  /** How many transactions wait for the next commit. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Resolves once every queued transaction has settled (used at shutdown). */
  drained(): Promise<void> {
    if (!this.#flushing && !this.#scheduled) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #schedule(): void {
    if (this.#scheduled || this.#flushing) return;
    this.#scheduled = true;
    // After the current I/O phase: every request parsed in this turn joins the batch.
    setImmediate(() => void this.#flush());
  }

  async #flush(): Promise<void> {
    this.#scheduled = false;
    this.#flushing = true;
    const batch = this.#queue.splice(0, this.maxBatch);
    this.onBatch?.(batch.length);
    try {
      const values = await this.runner.transaction(async (conn) => {
        if (this.parallel) return allSettled(batch.map((job) => job.run(conn)));
        if (this.withHandOff) return this.#inTurn(batch, conn, this.withHandOff);
        const out: unknown[] = [];
        for (const job of batch) out.push(await job.run(conn));
        return out;
      });
      for (const [i, job] of batch.entries()) job.resolve(values[i]);
    } catch (error) {
      if (batch.length === 1) (batch[0] as Job<C>).reject(error);
      else await this.#oneByOne(batch);
    } finally {
      this.#flushing = false;
      if (this.#queue.length > 0) this.#schedule();
      else for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  /**
   * Jobs in turn, each starting once the one before has handed off (its statements that later
   * jobs must see are sent) or finished: a job's reads go out with the previous job's writes
   * instead of a round trip after them.
   */
  async #inTurn(
    batch: Job<C>[],
    conn: C,
    withHandOff: (conn: C, handOff: () => void) => C,
  ): Promise<unknown[]> {
    const running: Promise<unknown>[] = [];
    for (const job of batch) {
      let handOff = () => {};
      const handedOff = new Promise<boolean>((resolve) => {
        handOff = () => resolve(false);
      });
      const run = job.run(withHandOff(conn, handOff));
      running.push(run);
      const failed = await Promise.race([
        run.then(
          () => false,
          () => true,
        ),
        handedOff,
      ]);
      if (failed) break;
    }
    return allSettled(running);
  }

  async #oneByOne(batch: Job<C>[]): Promise<void> {
    for (const job of batch) {
      try {
        job.resolve(await this.runner.transaction(job.run));
      } catch (error) {
        job.reject(error);
      }
    }
  }
}

/**
 * The jobs' values once every one has settled, or the first failure: a batch commits or rolls back
 * only then. Rolled back while another job was between two statements, that job's next statement
 * would run outside the transaction (autocommit, or on a connection the pool had given to someone
 * else), and run again when the job is retried alone.
 */
async function allSettled(running: Promise<unknown>[]): Promise<unknown[]> {
  const settled = await Promise.allSettled(running);
  const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (rejected) throw rejected.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value);
}

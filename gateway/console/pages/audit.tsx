import { listAuditEvents, newestCheckpointOf, verifyAuditChain } from '../../services/ledger/index.ts';
import { definePage } from '../page.ts';
import { actorName, peopleOf } from '../people.ts';
import { Time } from '../views/time.tsx';

/**
 * /console/audit (issue 14, item 5): the workspace's audit log, newest first, a page at a time, with
 * the verification of its hash chain (DESIGN §9). Same services as /v1/audit and /v1/audit/verify.
 */

const PAGE = 50;
const CURSOR = /^[A-Za-z0-9_-]{1,64}$/;

export default definePage({
  path: '/console/audit',
  summary: 'The audit log, newest first, with the verification of its hash chain',
  nav: { label: 'Audit log', order: 80 },
  roles: ['admin'],
  async get(p) {
    const raw = p.c.req.query('cursor');
    const cursor = raw && CURSOR.test(raw) ? raw : undefined;
    const [verdict, head, page, person] = await Promise.all([
      verifyAuditChain({ ctx: p.ctx }),
      newestCheckpointOf({ ctx: p.ctx }),
      listAuditEvents({ ctx: p.ctx, input: { query: { limit: PAGE, ...(cursor ? { cursor } : {}) } } }),
      peopleOf(p),
    ]);
    // A member as the target (a role changed, a member removed) is named like an actor.
    const target = (t: string | null) => (t?.startsWith('mem_') ? person(t) : (t ?? ''));
    return p.render({
      title: 'Audit log',
      body: (
        <>
          <h1>Audit log</h1>
          <section class="card" aria-labelledby="chain-h" id="chain">
            <h2 id="chain-h">Hash chain</h2>
            {verdict.valid ? (
              <p class="good-text" id="chain-state">
                Verified: all {verdict.checked} events are intact and in order.
              </p>
            ) : (
              <p class="bad-text" id="chain-state" role="alert">
                Broken: the chain fails at event <code>{verdict.firstBrokenId}</code> (after{' '}
                {verdict.checked - 1} intact events). Something changed or removed audit rows outside the
                gateway.
              </p>
            )}
            <p class="muted">
              Every event carries the hash of the one before it; this recomputes them all now, and checks each
              against the ledger log.
            </p>
          </section>
          <section class="card" aria-labelledby="log-h" id="ledger-log">
            <h2 id="log-h">Ledger log</h2>
            {head ? (
              <>
                <p id="checkpoint-state">
                  Newest checkpoint: <strong>{head.payload.size}</strong> entries (receipts and audit events),
                  signed <Time at={head.payload.issuedAt} />.
                </p>
                <p class="muted">
                  Root <code>{head.payload.root}</code>. Keep a copy (GET /v1/ledger/checkpoint, or the{' '}
                  <code>ledger.checkpoint</code> webhook): a later log that dropped or changed anything it
                  signs fails the consistency proof.
                </p>
                <details>
                  <summary>The checkpoint (compact JWS)</summary>
                  <pre tabindex={0}>{head.checkpoint}</pre>
                </details>
              </>
            ) : (
              <p id="checkpoint-state">
                No checkpoint yet: the log is signed once its first entry is appended.
              </p>
            )}
          </section>
          <div class="table-wrap">
            <table class="stack" id="audit">
              <caption>{cursor ? 'Older events' : 'Newest events'}</caption>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Action</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Target</th>
                  <th scope="col">Details</th>
                  <th scope="col" class="num">
                    #
                  </th>
                </tr>
              </thead>
              <tbody>
                {page.events.map((e) => (
                  <tr>
                    <td data-label="Time">
                      <Time at={e.createdAt} />
                    </td>
                    <td data-label="Action">
                      <code>{e.action}</code>
                    </td>
                    <td data-label="Actor">{actorName(e.actor, person)}</td>
                    <td data-label="Target">{target(e.target)}</td>
                    <td data-label="Details">
                      <code class="details">{Object.keys(e.data).length ? JSON.stringify(e.data) : ''}</code>
                    </td>
                    <td data-label="#" class="num">
                      {e.seq ?? ''}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav class="pager" aria-label="Audit pages">
            {cursor ? <a href="/console/audit">Newest</a> : null}
            {page.nextCursor ? <a href={`/console/audit?cursor=${page.nextCursor}`}>Older events</a> : null}
          </nav>
        </>
      ),
    });
  },
});

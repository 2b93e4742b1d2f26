import { listDecidable } from '../../../services/approvals.ts';
import { definePage } from '../page.ts';

/** /console: where sign-in lands. A starting point; the overview page may replace it. */
export default definePage({
  path: '/console',
  summary: 'The console home: where to go next',
  nav: { label: 'Home', order: 0 },
  async get(p) {
    const { member, workspaceName } = p.session;
    const waiting = (await listDecidable({ ctx: p.ctx, member, limit: 100 })).length;
    return p.render({
      title: 'Home',
      body: (
        <>
          <h1>{workspaceName}</h1>
          <section class="card">
            <p>
              Signed in as <strong>{member.email}</strong>, {member.role}.
            </p>
            <ul>
              <li>
                <a href="/console/approvals" id="waiting">
                  {waiting === 0
                    ? 'No approval is waiting for you'
                    : `${waiting === 100 ? '100 or more' : waiting} approval${waiting === 1 ? '' : 's'} waiting for you`}
                </a>
              </li>
              <li>
                <a href="/console/transactions">Transactions</a>
              </li>
            </ul>
          </section>
        </>
      ),
    });
  },
});

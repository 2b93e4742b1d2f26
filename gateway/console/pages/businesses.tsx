import { listWorkspaceBusinesses } from '../../services/businesses.ts';
import { definePage } from '../page.ts';

/**
 * /console/businesses (issue 14, item 5): the businesses this workspace's agents can use. Their
 * lifecycle (register, sandbox, suspend, archive, rotate keys) is the operator's, through
 * /v1/admin/businesses: not in the console.
 */

const STATUS_TEXT: Record<string, string> = {
  live: 'live',
  sandbox: 'sandbox (this workspace only)',
  suspended: 'suspended: takes no calls',
};

export default definePage({
  path: '/console/businesses',
  summary: 'The businesses this workspace can use',
  nav: { label: 'Businesses', order: 70 },
  async get(p) {
    const businesses = await listWorkspaceBusinesses({ ctx: p.ctx });
    return p.render({
      title: 'Businesses',
      body: (
        <>
          <h1>Businesses</h1>
          <p class="muted">
            The businesses your agents can call. Registering a business, its sandbox list, suspending or
            archiving it and rotating its keys are done by the gateway operator through the admin API
            (/v1/admin/businesses), not here.
          </p>
          {businesses.length === 0 ? (
            <p class="card" id="businesses">
              No business is available to this workspace yet: ask the gateway operator to register one.
            </p>
          ) : (
            <div class="table-wrap">
              <table class="stack" id="businesses">
                <caption>
                  {businesses.length === 1 ? '1 business' : `${businesses.length} businesses`}
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Id</th>
                    <th scope="col">Category</th>
                    <th scope="col">Status</th>
                    <th scope="col">Description</th>
                  </tr>
                </thead>
                <tbody>
                  {businesses.map((b) => (
                    <tr>
                      <td data-label="Name">{b.name}</td>
                      <td data-label="Id">
                        <code>{b.id}</code>
                      </td>
                      <td data-label="Category">{b.category}</td>
                      <td data-label="Status">
                        <span
                          class={`badge ${b.status === 'live' ? 'good' : b.status === 'suspended' ? 'bad' : 'wait'}`}
                        >
                          {STATUS_TEXT[b.status] ?? b.status}
                        </span>
                      </td>
                      <td data-label="Description">{b.description}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      ),
    });
  },
});

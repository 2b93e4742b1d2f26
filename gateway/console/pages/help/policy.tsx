import {
  contextReference,
  operatorReference,
  policyFieldReference,
} from '../../../../policy/document/reference.ts';
import { definePage } from '../../page.ts';
import { STARTER } from '../policy/starter.ts';
import { inline } from './inline.tsx';

/**
 * /console/help/policy (issue 21): the policy document's field reference in the console, one click
 * from the editor and served by the gateway itself, so it works offline and always matches the
 * schema the gateway validates with (the same data writes the tables of docs/policies.md).
 */
export default definePage({
  path: '/console/help/policy',
  summary: 'The policy document’s field reference: every object, field, operator and context',
  section: '/console/policy',
  async get(p) {
    const sections = policyFieldReference();
    return p.render({
      title: 'Policy reference',
      body: (
        <>
          <h1>Policy reference</h1>
          <p>
            A policy is one JSON document. Its <a href="#rule">rules</a> run by ascending{' '}
            <code>priority</code>; the first whose conditions match gives the rule’s outcome (
            <code>auto_approve</code>, <code>reject</code>, <code>require_approval</code> or{' '}
            <code>multi_stage</code>), and when none matches, <code>default_action</code> does. The controls
            (categories, spending limits, time windows, confirmation) each give an outcome too, and the
            strictest wins: reject, then queue, then approval, then auto-approve. Amounts are whole minor
            units (cents): <code>10000</code> is $100.00. Every object is strict: a key not listed here is
            refused. “Default” is what a left-out field means; “required” fields must be given; “—” means the
            control is simply absent.
          </p>
          <p>
            <a href="/console/policy">Back to the policy editor</a>
          </p>
          <nav class="card" aria-labelledby="toc-h">
            <h2 id="toc-h">On this page</h2>
            <ul>
              <li>
                <a href="#example">An example</a>
              </li>
              {sections.map((s) => (
                <li>
                  <a href={`#${s.slug}`}>{s.title}</a>
                </li>
              ))}
              <li>
                <a href="#condition">Condition</a>
              </li>
              <li>
                <a href="#operators">Operators</a>
              </li>
              <li>
                <a href="#contexts">Contexts</a>
              </li>
            </ul>
          </nav>
          <section class="card" aria-labelledby="example">
            <h2 id="example">An example</h2>
            <p>
              The editor’s starter: orders over $100.00 wait for an approver, and at most $500.00 a day is
              spent.
            </p>
            <pre tabindex={0}>{STARTER}</pre>
          </section>
          {sections.map((s) => (
            <section class="card" aria-labelledby={s.slug}>
              <h2 id={s.slug}>{s.title}</h2>
              <p>{inline(s.where)}</p>
              <div class="table-wrap">
                <table class="stack">
                  <caption>The fields of {s.title.toLowerCase()}</caption>
                  <thead>
                    <tr>
                      <th scope="col">Field</th>
                      <th scope="col">Type</th>
                      <th scope="col">Default</th>
                      <th scope="col">Description</th>
                    </tr>
                  </thead>
                  <tbody>
                    {s.fields.map((f) => (
                      <tr>
                        <td data-label="Field">{inline(f.name)}</td>
                        <td data-label="Type">{inline(f.type)}</td>
                        <td data-label="Default">{inline(f.fallback)}</td>
                        <td data-label="Description">{inline(f.description)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </section>
          ))}
          <section class="card" aria-labelledby="condition">
            <h2 id="condition">Condition</h2>
            <p>
              Each item of a <code>conditions</code> list is a field condition (<code>field</code>, a dot path
              into the request, with <code>op</code> and <code>value</code>), a context condition (
              <code>context</code>, one of the <a href="#contexts">contexts</a>, with <code>op</code> and{' '}
              <code>value</code>), or a group: <code>all</code> (every one holds), <code>any</code> (one
              holds) or <code>not</code> (one condition that must not hold). Groups nest at most 8 levels;{' '}
              <code>value</code> is required by every operator but <code>exists</code>.
            </p>
          </section>
          <section class="card" aria-labelledby="operators">
            <h2 id="operators">Operators</h2>
            <div class="table-wrap">
              <table class="stack">
                <caption>What each op compares</caption>
                <thead>
                  <tr>
                    <th scope="col">op</th>
                    <th scope="col">value</th>
                    <th scope="col">True when the value read is …</th>
                  </tr>
                </thead>
                <tbody>
                  {operatorReference().map((o) => (
                    <tr>
                      <td data-label="op">{inline(o.op)}</td>
                      <td data-label="value">{inline(o.value)}</td>
                      <td data-label="True when">{inline(o.meaning)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
          <section class="card" aria-labelledby="contexts">
            <h2 id="contexts">Contexts</h2>
            <div class="table-wrap">
              <table class="stack">
                <caption>The gateway’s facts a condition can read</caption>
                <thead>
                  <tr>
                    <th scope="col">context</th>
                    <th scope="col">The value read</th>
                  </tr>
                </thead>
                <tbody>
                  {contextReference().map((c) => (
                    <tr>
                      <td data-label="context">{inline(c.context)}</td>
                      <td data-label="Value">{inline(c.meaning)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
        </>
      ),
    });
  },
});

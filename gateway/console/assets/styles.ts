/**
 * The console's one stylesheet (served as /console/assets/console.<hash>.css). A string in a module
 * so the compiled build carries it. Colours meet WCAG AA (4.5:1 for text) on their backgrounds;
 * focus is always visible; below 40rem the layout is one column and wide tables scroll.
 */
export const CONSOLE_CSS = `
:root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; line-height: 1.45;
  --ink: #1d2330; --muted: #4f5868; --line: #c9ced8; --bg: #f4f5f7; --card: #fff; --brand: #0b4a8b;
  --ok: #17663b; --bad: #a3281f; --warn: #7a5200; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); }
a { color: var(--brand); }
a:hover { text-decoration-thickness: 2px; }
:focus-visible { outline: 3px solid #1a6fd1; outline-offset: 2px; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.skip { position: absolute; left: -999px; top: 0; background: #fff; padding: .5rem 1rem; z-index: 10; }
.skip:focus { left: .5rem; top: .5rem; }
.top { background: #18202e; color: #fff; }
.top-inner { max-width: 72rem; margin: 0 auto; padding: .6rem 1rem; display: flex; flex-wrap: wrap; gap: .5rem 1rem;
  align-items: center; justify-content: space-between; }
.brand { font-weight: 700; color: #fff; text-decoration: none; min-width: 0; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; }
.account { position: relative; font-size: .9rem; color: #dfe4ec; min-width: 0; }
.account summary { display: block; cursor: pointer; list-style: none; padding: .3rem .6rem; border: 1px solid #8d97a8;
  border-radius: 6px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; max-width: 28rem; }
.account summary::-webkit-details-marker { display: none; }
.account summary::after { content: " \\25BE"; }
.account-menu { position: absolute; right: 0; top: calc(100% + .35rem); z-index: 5; display: flex; flex-direction: column;
  gap: .4rem; padding: .6rem; min-width: 13rem; background: #18202e; border: 1px solid #8d97a8; border-radius: 6px; }
.account-menu button { width: 100%; text-align: left; }
.top button { background: transparent; color: #fff; border: 1px solid #8d97a8; padding: .3rem .6rem; font-size: .85rem; }
nav.main { background: #fff; border-bottom: 1px solid var(--line); }
nav.main ul { max-width: 72rem; margin: 0 auto; padding: 0 1rem; list-style: none; display: flex; flex-wrap: wrap; gap: 0 1.25rem; }
nav.main a { display: inline-block; padding: .7rem 0; text-decoration: none; color: var(--ink); border-bottom: 3px solid transparent; }
nav.main a[aria-current="page"] { border-bottom-color: var(--brand); font-weight: 600; }
main { max-width: 72rem; margin: 1.5rem auto; padding: 0 1rem; }
main.narrow { max-width: 32rem; }
main.medium { max-width: 46rem; }
h1 { font-size: 1.5rem; margin: 0 0 1rem; }
h2 { font-size: 1.1rem; margin: 0 0 .75rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1rem 1.25rem; margin-bottom: 1rem; }
.muted { color: var(--muted); font-size: .92rem; }
.notice { padding: .75rem 1rem; border-radius: 6px; margin-bottom: 1rem; border: 1px solid; }
.notice.error { background: #fdecea; color: #7d1a12; border-color: #e8aaa4; }
.notice.info { background: #e8f3ff; color: #0b3f76; border-color: #a9cbef; }
.notice.ok { background: #e7f6ed; color: #12502e; border-color: #9fd3b3; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .35rem 1rem; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; font-weight: 500; overflow-wrap: anywhere; }
pre { background: #0f1420; color: #e6e9ef; padding: 1rem; border-radius: 6px; overflow-x: auto; font-size: .85rem; }
label { display: block; font-weight: 600; margin: .75rem 0 .25rem; }
input, select, textarea { font: inherit; width: 100%; padding: .5rem; border: 1px solid #8a93a3; border-radius: 6px; background: #fff; color: var(--ink); }
button, .button { font: inherit; font-weight: 600; padding: .55rem 1.1rem; border-radius: 6px; border: 1px solid transparent;
  cursor: pointer; background: var(--brand); color: #fff; text-decoration: none; display: inline-block; }
button.secondary, .button.secondary { background: #eef0f4; color: var(--ink); border-color: #8a93a3; }
button.approve { background: var(--ok); }
button.reject { background: #fff; color: var(--bad); border-color: var(--bad); }
.actions { display: flex; flex-wrap: wrap; gap: .75rem; margin-top: 1rem; align-items: center; }
.tabs { display: flex; gap: .5rem; margin-bottom: 1rem; flex-wrap: wrap; }
.tabs a { padding: .4rem .9rem; border-radius: 999px; border: 1px solid var(--line); background: #fff; text-decoration: none; color: var(--ink); }
.tabs a[aria-current="page"] { background: var(--brand); border-color: var(--brand); color: #fff; }
.table-wrap { overflow-x: auto; background: #fff; border: 1px solid var(--line); border-radius: 8px; }
table { border-collapse: collapse; width: 100%; font-size: .93rem; }
caption { text-align: left; padding: .75rem 1rem; font-weight: 600; }
th, td { text-align: left; padding: .55rem .8rem; border-top: 1px solid #e3e6ec; vertical-align: top; }
th { background: #f7f8fa; font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; white-space: nowrap; }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: .82rem; font-weight: 600; border: 1px solid; white-space: nowrap; }
.badge.good { color: var(--ok); border-color: var(--ok); }
.badge.bad { color: var(--bad); border-color: var(--bad); }
.badge.wait { color: var(--warn); border-color: var(--warn); }
.badge.plain { color: var(--muted); border-color: var(--line); }
.filters { display: grid; grid-template-columns: repeat(auto-fit, minmax(10rem, 1fr)); gap: 0 1rem; align-items: end; }
.filters .actions { grid-column: 1 / -1; }
.pager { display: flex; gap: 1rem; margin-top: 1rem; }
ol.stages { list-style: none; padding: 0; margin: 0; }
ol.stages li { padding: .5rem .75rem; border-left: 4px solid #8a93a3; margin-bottom: .4rem; background: #fafbfc; }
ol.stages li.pending { border-color: #b07600; background: #fff8e6; }
ol.stages li.approved { border-color: var(--ok); }
ol.stages li.rejected, ol.stages li.expired { border-color: var(--bad); }
ol.stages .state { font-weight: 600; }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
/* Admin pages (policy, keys, members, webhooks, audit, overview). */
.scroll { overflow: auto; max-height: 36rem; border-radius: 6px; background: #0f1420; }
.scroll pre { overflow: visible; margin: 0; min-width: max-content; }
td code, h2 code, dd code, p, table.stack td { overflow-wrap: anywhere; }
button[aria-disabled="true"] { opacity: .75; cursor: progress; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.good-text { color: var(--ok); font-weight: 600; }
.bad-text { color: var(--bad); font-weight: 600; }
ul.issues { margin: .25rem 0; padding-left: 1.1rem; }
ul.issues li { margin-bottom: .3rem; }
code.path { background: #fdecea; color: #7d1a12; padding: 0 .25rem; border-radius: 4px; }
textarea { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .85rem; }
table.diff td { font-size: .85rem; padding: .1rem .6rem; border-top: 0; }
table.diff code { white-space: pre-wrap; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
table.diff tr.added { background: #e7f6ed; }
table.diff tr.removed { background: #fdecea; }
table.diff tr.added .mark { color: var(--ok); font-weight: 600; }
table.diff tr.removed .mark { color: var(--bad); font-weight: 600; }
table.diff tr.hunk td { background: #eef0f4; color: var(--muted); padding: .3rem .6rem; }
table.diff td.mark { white-space: nowrap; }
.secret { background: #fff8e6; border: 1px solid #b07600; border-radius: 6px; padding: .75rem 1rem; margin-bottom: 1rem; }
.secret code { display: block; overflow-wrap: anywhere; font-size: 1rem; margin: .4rem 0; }
.inline-form { display: inline-flex; gap: .4rem; align-items: center; flex-wrap: wrap; margin: 0; }
.inline-form select { width: auto; }
.inline-form button, button.small { padding: .3rem .7rem; font-size: .88rem; }
button.danger { background: var(--bad); }
fieldset { border: 1px solid var(--line); border-radius: 6px; margin: .75rem 0; padding: .5rem .9rem; }
legend { font-weight: 600; }
fieldset label { display: inline-flex; gap: .35rem; align-items: center; font-weight: 400; margin: .2rem 1rem .2rem 0; }
fieldset input[type="checkbox"], fieldset input[type="radio"] { width: auto; }
ul.checklist { list-style: none; padding: 0; margin: 0; }
ul.checklist li { padding: .45rem 0; border-top: 1px solid #e3e6ec; display: flex; gap: .6rem; flex-wrap: wrap; align-items: baseline; }
ul.checklist li:first-child { border-top: 0; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(20rem, 100%), 1fr)); gap: 1rem; }
figure.chart { margin: 1rem 0 0; }
figure.chart svg { display: block; overflow: visible; }
ul.meter-text { margin: .4rem 0 0; padding-left: 1.1rem; }
figure.chart figcaption { font-weight: 600; margin-bottom: .4rem; }
svg .bar { fill: #0b4a8b; }
svg .bar.over { fill: var(--bad); }
svg .bar.warn { fill: #b07600; }
svg .track { fill: #e3e6ec; }
svg .axis { stroke: #4f5868; stroke-width: 1; }
svg .limit-line { stroke: var(--ink); stroke-width: 2; stroke-dasharray: 4 2; }
svg text { fill: #1d2330; font-size: 12px; font-family: system-ui, sans-serif; }
details.alt { margin-top: .5rem; }
details.alt summary { cursor: pointer; color: var(--brand); }
.big { font-size: 1.6rem; font-weight: 700; }
.stats { display: flex; flex-wrap: wrap; gap: 1rem 2rem; margin: 0; }
.stats div { min-width: 8rem; }
.stats dt { color: var(--muted); font-size: .9rem; }
.stats dd { margin: 0; }
@media (max-width: 40rem) {
  /* Two lines on a phone: the header (brand, account) and the navigation, which scrolls sideways. */
  .top-inner { flex-wrap: nowrap; }
  .brand, .account { flex: 0 1 auto; }
  .account summary { max-width: 50vw; }
  nav.main ul { flex-wrap: nowrap; overflow-x: auto; white-space: nowrap; gap: 0 1rem; }
  .grid2 { grid-template-columns: 1fr; }
  dl.facts { grid-template-columns: 1fr; }
  dl.facts dd { margin-bottom: .4rem; }
  /* Stacked rows: each cell shows its column name. */
  table.stack thead { position: absolute; left: -9999px; }
  table.stack tr { display: block; border-top: 1px solid var(--line); padding: .4rem 0; }
  table.stack td { display: grid; grid-template-columns: 7.5rem 1fr; gap: .5rem; border: 0; padding: .25rem .8rem; text-align: left; }
  table.stack td::before { content: attr(data-label); color: var(--muted); font-weight: 600; }
}
`;

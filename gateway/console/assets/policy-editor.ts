/**
 * The policy editor's live check (served as /console/assets/policy-editor.<hash>.js): as you type
 * (debounced), the text is posted to /console/policy/validate, which runs the same validation as
 * saving and answers the problem list (each problem at its JSON path) as an HTML fragment. Without JavaScript the "Check without
 * saving" button does the same with a page load.
 */
export const POLICY_EDITOR_JS = `(() => {
  const area = document.getElementById('policy-document');
  const box = document.getElementById('policy-issues');
  if (!area || !box) return;
  const form = area.form;
  const url = area.getAttribute('data-validate-url');
  let timer = 0;
  let seq = 0;
  const show = (issues, note) => {
    box.replaceChildren();
    const p = document.createElement('p');
    p.id = 'policy-issues-summary';
    if (note) {
      p.className = 'muted';
      p.textContent = note;
      box.append(p);
      return;
    }
    if (issues.length === 0) {
      p.className = 'good-text';
      p.textContent = 'No problems: the document is valid.';
      box.append(p);
      return;
    }
    p.className = 'bad-text';
    p.textContent = (issues.length === 1 ? '1 problem' : issues.length + ' problems') + ':';
    const ul = document.createElement('ul');
    ul.className = 'issues';
    for (const issue of issues) {
      const li = document.createElement('li');
      const code = document.createElement('code');
      code.className = 'path';
      code.textContent = issue.path === '' ? '(the document)' : issue.path;
      li.append(code, ' ' + issue.message);
      ul.append(li);
    }
    box.append(p, ul);
  };
  const check = async () => {
    const mine = ++seq;
    const body = new URLSearchParams(new FormData(form));
    try {
      // The server answers the problem list as rendered HTML (escaped there); only it is taken.
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'X-Console-Fragment': 'policy-issues' },
        body,
        credentials: 'same-origin',
      });
      if (mine !== seq) return;
      if (!res.ok) return show([], 'Could not check now (' + res.status + ').');
      const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
      const fresh = doc.getElementById('policy-issues');
      if (!fresh) return show([], 'Could not check now.');
      box.replaceChildren(...fresh.childNodes);
    } catch {
      if (mine === seq) show([], 'Could not check now.');
    }
  };
  area.addEventListener('input', () => {
    clearTimeout(timer);
    show([], 'Checking…');
    timer = setTimeout(check, 400);
  });
})();
`;

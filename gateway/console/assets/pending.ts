/**
 * Pending state for the admin pages' forms (served as /console/assets/pending.<hash>.js): once a
 * form is posted its button says so and a second click does not post it again (a key or a
 * webhook created twice). Without JavaScript the forms post as usual.
 */
export const PENDING_JS = `(() => {
  document.addEventListener('submit', (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== 'post') return;
    if (form.getAttribute('aria-busy') === 'true') {
      event.preventDefault();
      return;
    }
    form.setAttribute('aria-busy', 'true');
    const button = event.submitter;
    if (button && button.tagName === 'BUTTON') {
      button.setAttribute('data-label', button.textContent);
      button.setAttribute('aria-disabled', 'true');
      button.textContent = 'Working…';
    }
  });
  // A page shown again from the back/forward cache is usable again.
  window.addEventListener('pageshow', () => {
    for (const form of document.querySelectorAll('form[aria-busy="true"]')) form.removeAttribute('aria-busy');
    for (const button of document.querySelectorAll('button[data-label]')) {
      button.textContent = button.getAttribute('data-label');
      button.removeAttribute('data-label');
      button.removeAttribute('aria-disabled');
    }
  });
})();
`;

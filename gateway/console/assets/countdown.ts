/**
 * Deadline countdowns (served as /console/assets/countdown.<hash>.js). The server renders the
 * remaining time; this keeps it current. Without JavaScript the page still says the deadline.
 */
export const COUNTDOWN_JS = `(() => {
  const format = (ms) => {
    if (ms <= 0) return 'deadline passed';
    const s = Math.floor(ms / 1000);
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d > 0) return d + ' d ' + h + ' h left';
    if (h > 0) return h + ' h ' + m + ' min left';
    if (m > 0) return m + ' min ' + (s % 60) + ' s left';
    return (s % 60) + ' s left';
  };
  const tick = () => {
    for (const el of document.querySelectorAll('[data-deadline]')) {
      const left = Number(el.getAttribute('data-deadline')) - Date.now();
      const text = format(left);
      if (el.textContent !== text) el.textContent = text;
      if (left <= 0) el.classList.add('passed');
    }
  };
  tick();
  setInterval(tick, 1000);
})();
`;

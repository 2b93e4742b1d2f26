const { Worker } = require('node:worker_threads');
const Database = require('libsql');
const path = '/tmp/wb/wt3.db';
for (const s of ['', '-wal', '-shm'])
  try {
    require('fs').unlinkSync(path + s);
  } catch {}
const db = new Database(path);
db.exec(
  'PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0; PRAGMA busy_timeout=5000; PRAGMA journal_size_limit=16777216; CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX IF NOT EXISTS tv ON t(v)',
);
const MODE = process.env.MODE || 'RESTART',
  LIMIT = Number(process.env.LIMIT || 2000),
  EVERY = Number(process.env.EVERY || 50);
const code = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.libsql);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
let restarts = 0, maxLog = 0, worst = 0;
setInterval(() => { const t0 = performance.now(); const [r] = db.pragma('wal_checkpoint(PASSIVE)'); maxLog = Math.max(maxLog, r.log); if (r.log > ${LIMIT}) { db.pragma('wal_checkpoint(${MODE})'); restarts++; } worst = Math.max(worst, performance.now()-t0); parentPort.postMessage({ ...r, restarts, maxLog, worst }); }, ${EVERY});
`;
const w = new Worker(code, { eval: true, workerData: { path, libsql: require.resolve('libsql') } });
let last;
w.on('message', (m) => {
  last = m;
});
const ins = db.prepare('INSERT INTO t (v) VALUES (?)');
const b = db.prepare('BEGIN IMMEDIATE'),
  c = db.prepare('COMMIT');
let n = 0;
const t0 = Date.now();
const lat = [];
const tick = () => {
  for (let i = 0; i < 50; i++) {
    const s = performance.now();
    b.run();
    for (let k = 0; k < 8; k++) ins.run(String(Math.random()));
    c.run();
    lat.push(performance.now() - s);
    n++;
  }
  if (Date.now() - t0 < 4000) setImmediate(tick);
  else {
    lat.sort((a, b) => a - b);
    console.log(
      MODE,
      LIMIT,
      EVERY,
      'commits',
      n,
      'p50',
      lat[lat.length >> 1].toFixed(3),
      'p99',
      lat[Math.floor(lat.length * 0.99)].toFixed(3),
      'p999',
      lat[Math.floor(lat.length * 0.999)].toFixed(3),
      'max',
      lat[lat.length - 1].toFixed(2),
      'ms; last',
      JSON.stringify(last),
      'wal',
      require('fs').statSync(path + '-wal').size,
    );
    process.exit(0);
  }
};
tick();

// A stand-in for the daemon's monitor.http, for developing and testing the
// dashboard page on its own: serves the bundle (index.html, app.js, app.css
// from a built web/ folder) with the daemon's security headers, and
// /api/v1 (docs/api.md) from fixed data held in memory. Actions change
// that data (a retried dead job leaves the dead list and adds to ready).
//
// Sites: `a` (queues mail, noop; three dead mail jobs, one of them with an
// HTML payload), `b:x` (a name that needs percent-encoding) and `big`
// (100 queues, 100,000 dead jobs in q042, listed a page at a time).
//
//   node test/browser/mock_api.mjs BUNDLE_DIR [PORT]   (for a person)
//   import { startMock } from './mock_api.mjs'          (dashboard.mjs --mock)
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const kMockToken = 'mock-token';
export const kXssPayload = '<img src=x onerror="window.__xss=1">';

const kCsp =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; " +
  "form-action 'self'; frame-ancestors 'none'";
const kBigDead = 100000;

function makeState() {
  const now = Date.now();
  const dead = [
    { id: '1700000000000-0', fields: { payload: 'to bob@example.org' }, error: 'smtp 550', failed_at: now - 60000, attempts: 5 },
    { id: '1700000000001-0', fields: { payload: kXssPayload, note: '<b>bold?</b>' }, error: '<script>alert(1)</script>', failed_at: now - 30000, attempts: 1 },
    { id: '1700000000002-0', fields: { payload: 'to carol@example.org' }, error: 'timeout', failed_at: now - 1000, attempts: 3 },
  ];
  const big = [];
  for (let i = 0; i < 100; i++) {
    const name = 'q' + String(i).padStart(3, '0');
    big.push({ name, handler: 'noop', ready: i, pending: 0, delayed: 0, dead: name === 'q042' ? kBigDead : 0, oldest_ready_age_ms: i ? i * 1000 : null, limit: null });
  }
  return {
    started: now - 3723000,
    dead,
    ready: { mail: 3, noop: 0 },
    big,
    retried: [],
    deleted: [],
  };
}

function series(now) {
  const points = [];
  const start = Math.floor(now / 1000) * 1000 - 899000;
  for (let i = 0; i < 900; i++) {
    const p = 40 + 30 * Math.sin(i / 40);
    points.push([start + i * 1000, Math.round(p), i % 60 < 5 ? 3 : 0, Math.round(200 + 150 * Math.cos(i / 90))]);
  }
  return { interval_ms: 1000, points };
}

function sites(state) {
  return {
    sites: [
      {
        name: 'a',
        paused: false,
        weight: 2,
        queues: [
          { name: 'mail', handler: 'command', ready: state.ready.mail, pending: 1, delayed: 2, dead: state.dead.length, oldest_ready_age_ms: 1500, limit: 'smtp' },
          { name: 'noop', handler: 'noop', ready: state.ready.noop, pending: 0, delayed: 0, dead: 0, oldest_ready_age_ms: null, limit: null },
        ],
        limits: [{ name: 'smtp', concurrency: 2, rate: 10, window_ms: 1000, running: 1, pending: 1, started: 7, waiting: 0, keys: 1 }],
      },
      {
        name: 'b:x',
        paused: true,
        weight: 1,
        queues: [{ name: 'q:1', handler: 'noop', ready: 7, pending: 0, delayed: 0, dead: 0, oldest_ready_age_ms: 7000, limit: null }],
        limits: [],
      },
      { name: 'big', paused: false, weight: 1, queues: state.big, limits: [] },
    ],
  };
}

function summary(state) {
  const now = Date.now();
  const s = sites(state);
  const totals = { processed: 123456, failed: 78, ready: 0, pending: 0, delayed: 0, dead: 0 };
  for (const site of s.sites) {
    for (const q of site.queues) {
      totals.ready += q.ready;
      totals.pending += q.pending;
      totals.delayed += q.delayed;
      totals.dead += q.dead;
    }
  }
  return {
    overview: {
      daemon: { id: 'mockhost:4242:1', host: 'mockhost', pid: 4242, version: '0.1.0', uptime_ms: now - state.started },
      totals,
      series: series(now),
    },
    sites: s,
    daemons: {
      daemons: [
        {
          id: 'mockhost:4242:1', host: 'mockhost', pid: 4242, started_at: state.started, last_seen: now, self: true,
          workers: [
            { slot: 0, pid: 4243, state: 'running', rss_bytes: 12582912, jobs: 40, job: { site: 'a', queue: 'mail', id: '1700000000009-0', jid: 'j-9', running_ms: 350 } },
            { slot: 1, pid: 4244, state: 'idle', rss_bytes: 11534336, jobs: 38, job: null },
          ],
        },
      ],
    },
    periodic: {
      periodic: [
        { site: 'a', name: 'digest', cron: '*/5 * * * *', timezone: 'UTC', queue: 'mail', next: now + 120000, last_tick: now - 180000, enqueued: 12, failures: 0, skipped: 1, error: null },
      ],
    },
    listeners: { listeners: [{ name: 'smtp-in', address: '127.0.0.1:2525', connections: 3, fence: { state: 'open' } }] },
  };
}

function deadPage(state, site, queue, cursor, count) {
  if (site === 'a' && queue === 'mail') {
    const all = [...state.dead].reverse();
    const from = cursor ? Number(cursor) : 0;
    const jobs = all.slice(from, from + count);
    const next = from + count < all.length ? String(from + count) : null;
    return { total: all.length, jobs, next };
  }
  if (site === 'big' && queue === 'q042') {
    const from = cursor ? Number(cursor) : 0;
    const jobs = [];
    for (let i = from; i < Math.min(kBigDead, from + count); i++) {
      jobs.push({ id: `${1800000000000 - i}-0`, fields: { payload: `job ${i}` }, error: 'exit 1', failed_at: Date.now() - i * 1000, attempts: 1 });
    }
    return { total: kBigDead, jobs, next: from + count < kBigDead ? String(from + count) : null };
  }
  return { total: 0, jobs: [], next: null };
}

function sendJson(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

function route(state, req, res, url) {
  const parts = url.pathname.split('/').slice(3).map(decodeURIComponent);
  const authorized = req.headers.authorization === 'Bearer ' + kMockToken;
  if (req.method === 'GET') {
    if (parts[0] === 'summary') return sendJson(res, 200, summary(state));
    if (parts[0] === 'auth') {
      if (!req.headers.authorization) return sendJson(res, 200, { actions: true });
      return authorized ? sendJson(res, 200, { actions: true, token: 'ok' }) : sendJson(res, 401, { error: 'wrong token' });
    }
    if (parts[0] === 'sites' && parts[2] === 'queues' && parts[4] === 'dead' && parts.length === 5) {
      const count = Number(url.searchParams.get('count') || 50);
      return sendJson(res, 200, deadPage(state, parts[1], parts[3], url.searchParams.get('cursor'), count));
    }
    if (parts[0] === 'sites' && parts[2] === 'delayed') {
      const jobs = parts[1] === 'a' ? [
        { due: Date.now() + 60000, queue: 'mail', member: '{"queue":"mail","payload":"later"}' },
        { due: Date.now() + 120000, queue: 'mail', member: '{"queue":"mail","payload":"<i>later</i>"}' },
      ] : [];
      return sendJson(res, 200, { total: jobs.length, jobs });
    }
    return sendJson(res, 404, { error: 'unknown path' });
  }
  if (req.method !== 'POST') return sendJson(res, 405, { error: 'method not allowed' });
  if (!authorized) return sendJson(res, 401, { error: 'wrong or missing token' });
  if (parts[0] === 'sites' && parts[4] === 'dead' && (parts[6] === 'retry' || parts[6] === 'delete')) {
    const at = parts[1] === 'a' && parts[3] === 'mail' ? state.dead.findIndex((j) => j.id === parts[5]) : -1;
    if (at < 0) return sendJson(res, 404, { error: 'no such dead job' });
    state.dead.splice(at, 1);
    if (parts[6] === 'retry') {
      state.ready.mail++;
      state.retried.push(parts[5]);
    } else {
      state.deleted.push(parts[5]);
    }
    return sendJson(res, 200, { ok: true });
  }
  return sendJson(res, 200, { ok: true, count: 0 });
}

// Serves on 127.0.0.1:`port` (0: a free one). Resolves to {url, state,
// close()}.
export function startMock(bundleDir, port = 0) {
  const state = makeState();
  const files = {
    '/': ['index.html', 'text/html; charset=utf-8', 'no-store'],
    '/assets/app.js': ['app.js', 'text/javascript; charset=utf-8', 'public, max-age=31536000, immutable'],
    '/assets/app.css': ['app.css', 'text/css; charset=utf-8', 'public, max-age=31536000, immutable'],
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://' + req.headers.host);
    if (url.pathname.startsWith('/api/v1/')) return route(state, req, res, url);
    const file = files[url.pathname];
    const headers = {
      'Content-Security-Policy': kCsp,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'X-Frame-Options': 'DENY',
    };
    if (!file) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' });
      return res.end('not found\n');
    }
    res.writeHead(200, { ...headers, 'Content-Type': file[1], 'Cache-Control': file[2] });
    res.end(readFileSync(join(bundleDir, file[0])));
  });
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${server.address().port}/`,
        state,
        close: () => new Promise((done) => server.close(done)),
      });
    });
  });
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (!process.argv[2]) {
    console.error('usage: node mock_api.mjs BUNDLE_DIR [PORT]');
    process.exit(2);
  }
  const mock = await startMock(process.argv[2], Number(process.argv[3] || 0));
  console.log(`mock dashboard at ${mock.url} (token ${kMockToken})`);
}

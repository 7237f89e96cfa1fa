// The dashboard in a real browser (Debian's Chromium driven by
// playwright-core): loads the page, checks what it shows, retries a dead
// job through the "Token" field and its "Retry" button, and prints one JSON
// object with every check, the timings and the bundle's size. Exit 0 when
// every check passed, 1 when one failed, 77 when Chromium or playwright-core
// is missing (CTest's skip code).
//
//   node test/browser/dashboard.mjs --url http://127.0.0.1:PORT/ \
//        --expect expect.json --out DIR     (a real daemon; the caller
//                                            seeded it and checks Redis)
//   node test/browser/dashboard.mjs --mock BUNDLE_DIR --out DIR
//                                           (mock_api.mjs in this process)
//   --profile DIR: Chromium's user-data-dir, emptied first (default
//   OUT/profile).
//
// expect.json: {"token": "...", "queues": [{"site","queue","ready","dead"}],
//   "retry": {"site","queue","id"}, "xss": {"site","queue","id"},
//   "paged": {"site","queue"} (optional: a queue with over 100 dead jobs)}
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const kChromium = '/usr/bin/chromium';
const kTimeoutMs = 15000;
const kChromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function arg(name) {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

function skip(why) {
  console.log(JSON.stringify({ skipped: why }));
  process.exit(77);
}

// The page's thousands separators, as format.js num() writes them.
function num(n) {
  return n.toLocaleString('en-US', { maximumFractionDigits: 1 });
}

async function setUp() {
  const out = arg('--out') || 'dashboard-browser';
  mkdirSync(out, { recursive: true });
  rmSync(join(out, 'failure.png'), { force: true });
  if (!existsSync(kChromium)) skip(`${kChromium} is missing (scripts/setup installs chromium)`);
  let chromium;
  try {
    const require = createRequire(new URL('../../web/package.json', import.meta.url));
    ({ chromium } = require('playwright-core'));
  } catch (e) {
    skip('playwright-core is missing: run npm ci in web/ (scripts/setup does)');
  }
  let mock = null;
  let url = arg('--url');
  let expect;
  if (arg('--mock')) {
    const m = await import('./mock_api.mjs');
    mock = await m.startMock(arg('--mock'));
    url = mock.url;
    expect = {
      token: m.kMockToken,
      queues: [
        { site: 'a', queue: 'mail', ready: 3, dead: 3 },
        { site: 'b:x', queue: 'q:1', ready: 7, dead: 0 },
        { site: 'big', queue: 'q099', ready: 99, dead: 0 },
        { site: 'big', queue: 'q042', ready: 42, dead: 100000 },
      ],
      retry: { site: 'a', queue: 'mail', id: '1700000000000-0' },
      xss: { site: 'a', queue: 'mail', id: '1700000000001-0' },
      paged: { site: 'big', queue: 'q042' },
    };
  } else {
    expect = JSON.parse(readFileSync(arg('--expect'), 'utf8'));
  }
  return { out, chromium, mock, url, expect };
}

// Pixels of each chart's canvas near each of its lines' colours.
function chartPixels(page) {
  return page.evaluate(() => {
    const colours = { processed: [0x2f, 0x7d, 0x32], failed: [0xc6, 0x28, 0x28], ready: [0x15, 0x65, 0xc0] };
    const found = [];
    for (const canvas of document.querySelectorAll('.plot canvas')) {
      const ctx = canvas.getContext('2d');
      const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
      const counts = {};
      for (const name of Object.keys(colours)) counts[name] = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] < 200) continue;
        for (const [name, c] of Object.entries(colours)) {
          const d = Math.abs(data[i] - c[0]) + Math.abs(data[i + 1] - c[1]) + Math.abs(data[i + 2] - c[2]);
          if (d < 60) counts[name]++;
        }
      }
      found.push(counts);
    }
    return found;
  });
}

async function main() {
  const { out, chromium, mock, url, expect } = await setUp();
  const origin = new URL(url).origin;
  const result = { url, checks: {}, consoleErrors: [], foreignRequests: [], requests: 0 };
  const check = (name, ok, detail) => {
    result.checks[name] = detail === undefined ? { ok: !!ok } : { ok: !!ok, detail };
  };

  // A fresh profile (--user-data-dir) each run, in --profile (the caller's
  // temporary folder) or under --out.
  const profile = arg('--profile') || join(out, 'profile');
  rmSync(profile, { recursive: true, force: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: kChromium,
    headless: true,
    args: [...kChromiumArgs],
    timeout: kTimeoutMs,
    viewport: { width: 1400, height: 1000 },
  });
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(kTimeoutMs);
  const assetBytes = {};
  context.on('request', (r) => {
    result.requests++;
    if (!r.url().startsWith('data:') && new URL(r.url()).origin !== origin) {
      result.foreignRequests.push(r.url());
    }
  });
  page.on('response', async (r) => {
    const path = new URL(r.url()).pathname;
    if (path === '/' || path.startsWith('/assets/')) {
      try {
        assetBytes[path] = await r.body();
      } catch (e) {
        // A body the page dropped: measured from the next load.
      }
    }
  });
  page.on('console', (m) => {
    if (m.type() === 'error') result.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => result.consoleErrors.push(String(e)));
  // When the first queue row is in the DOM, in ms since navigation start.
  await page.addInitScript(() => {
    new MutationObserver((_, obs) => {
      if (document.querySelector('table.queues tbody tr')) {
        window.__firstTableMs = performance.now();
        obs.disconnect();
      }
    }).observe(document, { childList: true, subtree: true });
  });

  try {
    const headers = (await page.goto(url)).headers();
    check('csp', /default-src 'self'/.test(headers['content-security-policy'] || ''), headers['content-security-policy']);
    await page.waitForSelector('table.queues tbody tr');
    result.loadMs = Math.round(await page.evaluate(() => window.__firstTableMs));
    result.timing = await page.evaluate(() =>
      performance.getEntries().map((e) => [e.name.replace(location.origin, ''), Math.round(e.startTime), Math.round(e.responseEnd || e.duration)]));

    for (const q of expect.queues) {
      const row = page.locator(`div.site[data-site="${q.site}"] tr[data-queue="${q.queue}"]`);
      let seen = null;
      try {
        await page.waitForFunction(
          ([site, queue, ready, dead]) => {
            const tr = [...document.querySelectorAll('div.site')]
              .find((d) => d.dataset.site === site)
              ?.querySelector(`tr[data-queue="${CSS.escape(queue)}"]`);
            return tr && tr.querySelector('.ready').textContent.trim() === ready &&
              tr.querySelector('.dead').textContent.trim() === dead;
          },
          [q.site, q.queue, num(q.ready), num(q.dead)],
        );
        seen = true;
      } catch (e) {
        seen = (await row.count()) ? await row.innerText() : 'no row';
      }
      check(`queue ${q.site}/${q.queue}`, seen === true, seen === true ? undefined : seen);
    }

    // uPlot draws after the first summary with points; give it a poll.
    let pixels = [];
    await page
      .waitForFunction(() => document.querySelectorAll('.plot canvas').length >= 2)
      .catch(() => {});
    const chartDeadline = Date.now() + kTimeoutMs;
    do {
      pixels = await chartPixels(page);
      if (pixels.length >= 2 && pixels[0].processed + pixels[0].failed > 0 && pixels[1].ready > 0) break;
      await page.waitForTimeout(250);
    } while (Date.now() < chartDeadline);
    check('charts drawn', pixels.length >= 2 && pixels[0].processed + pixels[0].failed > 0 && pixels[1].ready > 0, pixels);

    // The dead panel: open the queue of the XSS job, which must show as text.
    const xss = expect.xss;
    await page.locator(`div.site[data-site="${xss.site}"] tr[data-queue="${xss.queue}"] td.dead button`).click();
    const xssRow = page.locator(`#dead tr[data-id="${xss.id}"]`);
    await xssRow.waitFor();
    const xssText = await xssRow.innerText();
    check('xss shown as text', xssText.includes('<img src=x onerror='), xssText);
    check('xss not run', (await page.evaluate(() => window.__xss)) === undefined &&
      (await page.locator('#dead img').count()) === 0);
    await page.screenshot({ path: join(out, 'dashboard.png'), fullPage: true });

    // The token, typed once, and Retry on the row.
    const r = expect.retry;
    await page.getByLabel('Token').fill(expect.token);
    await page.getByLabel('Token').press('Enter');
    await page.locator('.token .hint.ok').waitFor();
    check('token kept in sessionStorage',
      (await page.evaluate(() => sessionStorage.getItem('queuedaemon.token'))) === expect.token);
    if (!(xss.site === r.site && xss.queue === r.queue)) {
      await page.locator(`div.site[data-site="${r.site}"] tr[data-queue="${r.queue}"] td.dead button`).click();
    }
    const row = page.locator(`#dead tr[data-id="${r.id}"]`);
    await row.getByRole('button', { name: 'Retry' }).click();
    await page.locator('.notice.ok').waitFor();
    await row.waitFor({ state: 'detached' });
    check('retry clicked', true, await page.locator('.notice').innerText());
    await page.screenshot({ path: join(out, 'dashboard-after-retry.png'), fullPage: true });

    if (mock) check('mock saw the retry', mock.state.retried.includes(r.id), mock.state.retried);

    // A queue with many dead jobs: a page of 50 rows, Older, Newer.
    if (expect.paged) {
      const { site, queue } = expect.paged;
      const firstId = () => page.evaluate(() => document.querySelector('#dead tbody tr')?.dataset.id);
      const started = Date.now();
      await page.locator(`div.site[data-site="${site}"] tr[data-queue="${queue}"] td.dead button`).click();
      await page.waitForFunction(([s, q]) => {
        const panel = document.querySelector('#dead');
        return panel && panel.dataset.site === s && panel.dataset.queue === q &&
          document.querySelectorAll('#dead tbody tr').length === 50;
      }, [site, queue]);
      const newest = await firstId();
      result.pagedFirstMs = Date.now() - started;
      await page.getByRole('button', { name: 'Older' }).click();
      await page.waitForFunction((id) => {
        const first = document.querySelector('#dead tbody tr');
        return first && first.dataset.id !== id && document.querySelectorAll('#dead tbody tr').length === 50;
      }, newest);
      const older = await firstId();
      await page.getByRole('button', { name: 'Newer' }).click();
      await page.waitForFunction((id) => document.querySelector('#dead tbody tr')?.dataset.id === id, newest);
      result.pagedMs = Date.now() - started;
      check(`dead jobs of ${site}/${queue} paged`, newest !== older, { newest, older });
    }
  } catch (e) {
    check('ran to the end', false, String(e));
    await page.screenshot({ path: join(out, 'failure.png'), fullPage: true }).catch(() => {});
  }

  const raw = Object.values(assetBytes).reduce((n, b) => n + b.length, 0);
  const gz = Object.values(assetBytes).reduce((n, b) => n + gzipSync(b, { level: 9 }).length, 0);
  result.bundle = { files: Object.keys(assetBytes), raw, gzip: gz };
  // Polling: never two summary requests within a second, by the page's own
  // clock (when each request started, from its resource timing; 50 ms of
  // slack for the timer and the clocks).
  const polls = await page
    .evaluate(() => performance.getEntriesByType('resource')
      .filter((e) => e.name.includes('/api/v1/summary')).map((e) => e.startTime))
    .catch(() => []);
  const gaps = polls.slice(1).map((t, i) => t - polls[i]);
  result.polls = { count: polls.length, minGapMs: gaps.length ? Math.min(...gaps) : null };
  check('at most one poll a second', polls.length >= 2 && Math.min(...gaps) >= 950, result.polls);
  check('no console errors', result.consoleErrors.length === 0, result.consoleErrors);
  check('only the daemon was asked', result.foreignRequests.length === 0, result.foreignRequests);
  await context.close();
  if (mock) await mock.close();
  result.ok = Object.values(result.checks).every((c) => c.ok);
  writeFileSync(join(out, 'result.json'), JSON.stringify(result, null, 2) + '\n');
  console.log(JSON.stringify(result));
  process.exit(result.ok ? 0 : 1);
}

main().catch((e) => {
  console.log(JSON.stringify({ ok: false, error: String(e && e.stack ? e.stack : e) }));
  process.exit(1);
});

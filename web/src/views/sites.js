// Sites: one table per site of its queues (ready, pending, delayed, dead,
// the oldest ready job's age, the limit it runs under) and its limits,
// with Drain / Resume. A filter narrows the queues when there are many.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { duration, num, text } from '../format.js';

function QueueRow({ site, q, shown, onShowDead }) {
  const isShown = shown && shown.site === site && shown.queue === q.name;
  return html`<tr class=${isShown ? 'shown' : ''} data-queue=${q.name}>
    <td class="name">${q.name}</td>
    <td>${q.handler}</td>
    <td class="n ready">${num(q.ready)}</td>
    <td class="n pending">${num(q.pending)}</td>
    <td class="n delayed">${num(q.delayed)}</td>
    <td class="n dead">
      ${q.dead > 0
        ? html`<button
            class="link"
            title="Show the dead jobs"
            onClick=${() => onShowDead({ site, queue: q.name })}
          >
            ${num(q.dead)}
          </button>`
        : num(q.dead)}
    </td>
    <td class="n">${q.oldest_ready_age_ms === null ? '–' : duration(q.oldest_ready_age_ms)}</td>
    <td>${q.limit === null || q.limit === undefined ? '–' : q.limit}</td>
  </tr>`;
}

function Limits({ limits }) {
  if (!limits || !limits.length) return null;
  return html`<table class="limits">
    <caption>Limits</caption>
    <thead>
      <tr>
        <th>limit</th><th class="n">concurrency</th><th class="n">rate</th>
        <th class="n">window</th><th class="n">running</th><th class="n">pending</th>
        <th class="n">started</th><th class="n">waiting</th><th class="n">keys</th>
      </tr>
    </thead>
    <tbody>
      ${limits.map(
        (l) => html`<tr key=${l.name}>
          <td class="name">${l.name}</td>
          <td class="n">${text(l.concurrency)}</td>
          <td class="n">${text(l.rate)}</td>
          <td class="n">${duration(l.window_ms)}</td>
          <td class="n">${num(l.running)}</td>
          <td class="n">${num(l.pending)}</td>
          <td class="n">${num(l.started)}</td>
          <td class="n">${num(l.waiting)}</td>
          <td class="n">${num(l.keys)}</td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}

function Site({ site, filter, act, onShowDead, shown }) {
  const queues = (site.queues || []).filter(
    (q) => !filter || q.name.toLowerCase().includes(filter),
  );
  return html`<div class="site" data-site=${site.name}>
    <h3>
      <span class="name">${site.name}</span>
      ${site.paused && html`<span class="badge">paused</span>`}
      <span class="meta">weight ${text(site.weight)}</span>
      <button
        onClick=${() =>
          confirm(`Drain ${site.name}? Every daemon stops taking its jobs until Resume.`) &&
          act(['sites', site.name, 'drain'], `Drain ${site.name}`)}
      >
        Drain
      </button>
      <button onClick=${() => act(['sites', site.name, 'resume'], `Resume ${site.name}`)}>
        Resume
      </button>
    </h3>
    <div class="queue-box">
    <table class="queues">
      <thead>
        <tr>
          <th>queue</th><th>handler</th><th class="n">ready</th><th class="n">pending</th>
          <th class="n">delayed</th><th class="n">dead</th><th class="n">oldest ready</th>
          <th>limit</th>
        </tr>
      </thead>
      <tbody>
        ${queues.map(
          (q) => html`<${QueueRow}
            key=${q.name}
            site=${site.name}
            q=${q}
            shown=${shown}
            onShowDead=${onShowDead}
          />`,
        )}
      </tbody>
    </table>
    </div>
    <${Limits} limits=${site.limits} />
  </div>`;
}

export function Sites({ sites, loaded, act, onShowDead, shown }) {
  const [filter, setFilter] = useState('');
  const f = filter.trim().toLowerCase();
  return html`<section id="sites">
    <h2>
      Sites and queues
      <input
        class="filter"
        type="search"
        placeholder="filter queues"
        aria-label="Filter queues"
        value=${filter}
        onInput=${(e) => setFilter(e.currentTarget.value)}
      />
    </h2>
    ${!loaded && html`<p class="empty">loading…</p>`}
    ${loaded && !sites.length && html`<p class="empty">no sites</p>`}
    ${sites.map(
      (s) => html`<${Site}
        key=${s.name}
        site=${s}
        filter=${f}
        act=${act}
        onShowDead=${onShowDead}
        shown=${shown}
      />`,
    )}
  </section>`;
}

// Daemons: every live daemon (of every host) and its workers: state,
// memory, jobs run, and the job each one runs now.
import { html } from '../html.js';
import { bytes, duration, listOf, num, text, time } from '../format.js';

function Job({ job }) {
  if (!job) return html`<span class="empty">idle</span>`;
  return html`<span
    >${job.site} / ${job.queue} · ${job.id}${job.jid ? ' · ' + job.jid : ''} ·
    ${duration(job.running_ms)}</span
  >`;
}

function Workers({ workers }) {
  if (!workers || !workers.length) return html`<p class="empty">no workers</p>`;
  return html`<table class="workers">
    <thead>
      <tr><th>slot</th><th>pid</th><th>state</th><th>rss</th><th>jobs</th><th>running</th></tr>
    </thead>
    <tbody>
      ${workers.map(
        (w) => html`<tr key=${w.slot}>
          <td class="n">${text(w.slot)}</td>
          <td class="n">${text(w.pid)}</td>
          <td>${text(w.state)}</td>
          <td class="n">${bytes(w.rss_bytes)}</td>
          <td class="n">${num(w.jobs)}</td>
          <td><${Job} job=${w.job} /></td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}

export function Daemons({ daemons }) {
  const list = listOf(daemons, 'daemons');
  return html`<section id="daemons">
    <h2>Daemons and workers</h2>
    ${!list.length && html`<p class="empty">none</p>`}
    ${list.map(
      (d) => html`<div class="daemon-card" key=${d.id}>
        <h3>
          <span class="name">${d.host}</span> pid ${text(d.pid)}
          ${d.self && html`<span class="badge">this one</span>`}
          <span class="meta"
            >id ${d.id} · started ${time(d.started_at)} · seen ${time(d.last_seen)}</span
          >
        </h3>
        <${Workers} workers=${d.workers} />
      </div>`,
    )}
  </section>`;
}

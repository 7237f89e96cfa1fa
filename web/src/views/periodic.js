// Periodic: every periodic job of every site, its schedule and what the
// last ticks did, with Run now.
import { html } from '../html.js';
import { listOf, num, text, time } from '../format.js';

export function Periodic({ periodic, act }) {
  const rows = listOf(periodic, 'periodic');
  return html`<section id="periodic">
    <h2>Periodic jobs</h2>
    ${!rows.length
      ? html`<p class="empty">none</p>`
      : html`<table>
          <thead>
            <tr>
              <th>site</th><th>name</th><th>cron</th><th>timezone</th><th>queue</th>
              <th>next</th><th>last tick</th><th>enqueued</th><th>failures</th>
              <th>skipped</th><th>error</th><th></th>
            </tr>
          </thead>
          <tbody>
            ${rows.map(
              (p) => html`<tr key=${p.site + '\u0000' + p.name}>
                <td class="name">${p.site}</td>
                <td class="name">${p.name}</td>
                <td><code>${p.cron}</code></td>
                <td>${text(p.timezone)}</td>
                <td>${p.queue}</td>
                <td>${time(p.next)}</td>
                <td>${time(p.last_tick)}</td>
                <td class="n">${num(p.enqueued)}</td>
                <td class="n">${num(p.failures)}</td>
                <td class="n">${num(p.skipped)}</td>
                <td class="error">${p.error ? text(p.error) : ''}</td>
                <td>
                  <button
                    onClick=${() =>
                      act(['sites', p.site, 'periodic', p.name, 'run'], `Run ${p.site}/${p.name}`)}
                  >
                    Run now
                  </button>
                </td>
              </tr>`,
            )}
          </tbody>
        </table>`}
  </section>`;
}

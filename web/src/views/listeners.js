// Listeners: each listener's address, open connections and fork fence.
import { html } from '../html.js';
import { listOf, num, text } from '../format.js';

export function Listeners({ listeners }) {
  const list = listOf(listeners, 'listeners');
  return html`<section id="listeners">
    <h2>Listeners</h2>
    ${!list.length
      ? html`<p class="empty">none</p>`
      : html`<table>
          <thead><tr><th>name</th><th>address</th><th>connections</th><th>fence</th></tr></thead>
          <tbody>
            ${list.map(
              (l) => html`<tr key=${l.name}>
                <td class="name">${l.name}</td>
                <td>${text(l.address)}</td>
                <td class="n">${num(l.connections)}</td>
                <td><code>${text(l.fence)}</code></td>
              </tr>`,
            )}
          </tbody>
        </table>`}
  </section>`;
}

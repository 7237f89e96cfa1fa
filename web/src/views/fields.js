// Fields: a job's fields as name = value lines. Values are text nodes
// (never markup) and cut at kMaxChars so a 1 MiB payload cannot stall the
// page; the whole value is in the row's title.
import { html } from '../html.js';

const kMaxChars = 400;

function cut(v) {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > kMaxChars ? s.slice(0, kMaxChars) + '…' : s;
}

export function Fields({ fields }) {
  const entries = Object.entries(fields || {});
  if (!entries.length) return html`<span class="empty">no fields</span>`;
  return html`<dl class="fields">
    ${entries.map(
      ([k, v]) => html`<div key=${k}>
        <dt>${k}</dt>
        <dd>${cut(v)}</dd>
      </div>`,
    )}
  </dl>`;
}

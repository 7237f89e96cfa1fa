// Delayed: a site's delayed jobs, soonest first, a page at a time
// (GET /api/v1/sites/{site}/delayed?offset=O&count=N). Fetched when a site
// is picked, when paging and on Refresh.
import { useEffect, useState } from 'preact/hooks';
import { getJson } from '../api.js';
import { html } from '../html.js';
import { num, time } from '../format.js';

const kPageSize = 50;
const kMaxChars = 400;

export function Delayed({ sites }) {
  const [picked, setPicked] = useState('');
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState(null);
  const [error, setError] = useState(null);
  const [generation, setGeneration] = useState(0);
  const withDelayed = sites.filter((s) => (s.queues || []).some((q) => q.delayed > 0));
  const site = picked || (withDelayed[0] && withDelayed[0].name) || '';

  useEffect(() => {
    if (!site) return undefined;
    const abort = new AbortController();
    getJson(['sites', site, 'delayed'], { offset, count: kPageSize }, abort.signal)
      .then((p) => {
        setPage(p);
        setError(null);
      })
      .catch((e) => {
        if (e.name !== 'AbortError') setError(e.message);
      });
    return () => abort.abort();
  }, [site, offset, generation]);

  const jobs = (page && page.jobs) || [];
  return html`<section id="delayed">
    <h2>
      Delayed jobs
      <select
        aria-label="Site"
        value=${site}
        onChange=${(e) => {
          setPicked(e.currentTarget.value);
          setOffset(0);
        }}
      >
        ${!site && html`<option value="">–</option>`}
        ${sites.map((s) => html`<option key=${s.name} value=${s.name}>${s.name}</option>`)}
      </select>
      <span class="meta">${page ? num(page.total) + ' in all' : ''}</span>
      <button onClick=${() => setGeneration((g) => g + 1)}>Refresh</button>
    </h2>
    ${error && html`<p class="notice bad">${error}</p>`}
    ${site &&
    html`<table class="delayed">
          <thead><tr><th>due</th><th>queue</th><th>member</th></tr></thead>
          <tbody>
            ${jobs.map(
              (j, i) => html`<tr key=${offset + i}>
                <td>${time(j.due)}</td>
                <td class="name">${j.queue}</td>
                <td class="member">
                  ${j.member.length > kMaxChars ? j.member.slice(0, kMaxChars) + '…' : j.member}
                </td>
              </tr>`,
            )}
          </tbody>
        </table>`}
    ${!site && html`<p class="empty">no delayed jobs${sites.length > 1 ? ' (pick a site)' : ''}</p>`}
    ${page && !jobs.length && html`<p class="empty">none</p>`}
    <nav class="pager">
      <button disabled=${offset === 0} onClick=${() => setOffset(Math.max(0, offset - kPageSize))}>
        Sooner
      </button>
      <span>${page && page.total ? `${offset + 1}–${offset + jobs.length}` : ''}</span>
      <button
        disabled=${!page || offset + kPageSize >= page.total}
        onClick=${() => setOffset(offset + kPageSize)}
      >
        Later
      </button>
    </nav>
  </section>`;
}

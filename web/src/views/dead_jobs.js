// DeadJobs: one queue's dead jobs, newest first, a page of kPageSize at a
// time from the server (GET .../dead?cursor=C&count=N): a queue with
// 100,000 dead jobs costs the page what one with 50 does. Each row has
// Retry and Delete; the queue has Retry all and Purge. The page is fetched
// when the queue is picked, when paging, after an action, and on Refresh,
// not on every poll (the summary's dead count says when it is stale).
import { useCallback, useEffect, useState } from 'preact/hooks';
import { getJson } from '../api.js';
import { html } from '../html.js';
import { num, text, time } from '../format.js';
import { Fields } from './fields.js';

const kPageSize = 50;

function deadPath(target, ...rest) {
  return ['sites', target.site, 'queues', target.queue, 'dead', ...rest];
}

function DeadRow({ job, target, act, reload }) {
  const run = async (verb, label) => {
    const reply = await act(deadPath(target, job.id, verb), `${label} ${job.id}`);
    if (reply) reload();
  };
  return html`<tr data-id=${job.id}>
    <td class="id">${job.id}</td>
    <td>${time(job.failed_at)}</td>
    <td class="n">${text(job.attempts)}</td>
    <td class="error">${text(job.error)}</td>
    <td><${Fields} fields=${job.fields} /></td>
    <td class="actions">
      <button onClick=${() => run('retry', 'Retry')}>Retry</button>
      <button class="danger" onClick=${() => run('delete', 'Delete')}>Delete</button>
    </td>
  </tr>`;
}

export function DeadJobs({ target, total, act }) {
  const key = target ? target.site + '\u0000' + target.queue : '';
  // cursors[i] is the cursor of page i (null for the first), for the queue
  // `key`; another queue starts again at its first page. A page read for
  // another queue is not shown.
  const [paging, setPaging] = useState({ key, cursors: [null] });
  const cursors = paging.key === key ? paging.cursors : [null];
  const setCursors = (c) => setPaging({ key, cursors: c });
  const [read, setRead] = useState({ key: null, page: null });
  const page = read.key === key ? read.page : null;
  const [error, setError] = useState(null);
  const [generation, setGeneration] = useState(0);

  const cursor = cursors[cursors.length - 1];
  useEffect(() => {
    if (!target) return undefined;
    const abort = new AbortController();
    getJson(deadPath(target), { cursor, count: kPageSize }, abort.signal)
      .then((p) => {
        setRead({ key, page: p });
        setError(null);
      })
      .catch((e) => {
        if (e.name !== 'AbortError') setError(e.message);
      });
    return () => abort.abort();
  }, [key, cursor, generation]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);

  if (!target) {
    return html`<section id="dead">
      <h2>Dead jobs</h2>
      <p class="empty">no dead jobs in any queue</p>
    </section>`;
  }
  const jobs = (page && page.jobs) || [];
  const stale = page && typeof total === 'number' && total !== page.total;
  const bulk = async (verb, label) => {
    if (!confirm(`${label} every dead job of ${target.site}/${target.queue}?`)) return;
    if (await act(deadPath(target, verb), `${label} ${target.site}/${target.queue}`)) {
      setCursors([null]);
      reload();
    }
  };
  return html`<section id="dead" data-site=${target.site} data-queue=${target.queue}>
    <h2>
      Dead jobs: <span class="name">${target.site}</span> /
      <span class="name">${target.queue}</span>
      <span class="meta">${page ? num(page.total) + ' in all' : ''}</span>
      <button onClick=${reload} class=${stale ? 'stale' : ''}>
        ${stale ? `Refresh (${num(total)} now)` : 'Refresh'}
      </button>
      <button onClick=${() => bulk('retry-all', 'Retry all')}>Retry all</button>
      <button class="danger" onClick=${() => bulk('purge', 'Purge')}>Purge</button>
    </h2>
    ${error && html`<p class="notice bad">${error}</p>`}
    <table class="dead">
      <thead>
        <tr><th>id</th><th>failed at</th><th>attempts</th><th>error</th><th>fields</th><th></th></tr>
      </thead>
      <tbody>
        ${jobs.map(
          (j) => html`<${DeadRow} key=${j.id} job=${j} target=${target} act=${act} reload=${reload} />`,
        )}
      </tbody>
    </table>
    ${page && !jobs.length && html`<p class="empty">none</p>`}
    <nav class="pager">
      <button disabled=${cursors.length < 2} onClick=${() => setCursors(cursors.slice(0, -1))}>
        Newer
      </button>
      <span>page ${cursors.length}</span>
      <button
        disabled=${!page || !page.next}
        onClick=${() => setCursors([...cursors, page.next])}
      >
        Older
      </button>
    </nav>
  </section>`;
}

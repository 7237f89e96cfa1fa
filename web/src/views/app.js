// App: the page. Polls the summary (poll.js) and lays out the sections;
// holds the token and the one function every action button goes through.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { apiPath, getJson, postAction } from '../api.js';
import { html } from '../html.js';
import { useSummary } from '../poll.js';
import { loadToken, saveToken } from '../token.js';
import { duration, listOf } from '../format.js';
import { Overview } from './overview.js';
import { Sites } from './sites.js';
import { DeadJobs } from './dead_jobs.js';
import { Delayed } from './delayed.js';
import { Periodic } from './periodic.js';
import { Daemons } from './daemons.js';
import { Listeners } from './listeners.js';

// The token's state as the daemon judged it (GET /api/v1/auth with the
// token, asked when the field is left or Enter is pressed): null (not
// asked), 'ok' or 'refused'.
function useTokenCheck(token) {
  const [verdict, setVerdict] = useState({ token: '', state: null });
  const check = useCallback(async () => {
    if (!token) return;
    try {
      const response = await fetch(apiPath(['auth']), {
        headers: { Authorization: 'Bearer ' + token, Accept: 'application/json' },
        cache: 'no-store',
        credentials: 'omit',
      });
      setVerdict({ token, state: response.ok ? 'ok' : 'refused' });
    } catch (e) {
      setVerdict({ token, state: null });
    }
  }, [token]);
  return [verdict.token === token ? verdict.state : null, check];
}

function TokenField({ token, onToken, actions }) {
  const [verdict, check] = useTokenCheck(token);
  const hint =
    actions === false
      ? 'actions are off (no monitor.admin_token_file)'
      : verdict === 'refused'
        ? 'the daemon refuses this token'
        : verdict === 'ok'
          ? 'accepted; kept in this tab only'
          : token
            ? 'kept in this tab only'
            : 'needed for Retry, Delete, Drain…';
  return html`<div class="token">
    <label for="token">Token</label>
    <input
      id="token"
      type="password"
      autocomplete="off"
      spellcheck="false"
      value=${token}
      onInput=${(e) => onToken(e.currentTarget.value)}
      onChange=${check}
    />
    <span class=${'hint ' + (verdict || '')}>${hint}</span>
  </div>`;
}

function Header({ summary, error, token, onToken, actions }) {
  const d = summary && summary.overview && summary.overview.daemon;
  return html`<header>
    <h1>queuedaemon</h1>
    ${d &&
    html`<span class="daemon"
      >${d.host} · pid ${d.pid} · ${d.version} · up ${duration(d.uptime_ms)}</span
    >`}
    <span class=${'live ' + (error ? 'down' : summary ? 'up' : '')}
      >${error ? 'no answer: ' + error : summary ? 'live' : 'connecting'}</span
    >
    <${TokenField} token=${token} onToken=${onToken} actions=${actions} />
  </header>`;
}

export function App() {
  const { summary, error } = useSummary();
  const [token, setToken] = useState(loadToken());
  const [actions, setActions] = useState(null);
  const [notice, setNotice] = useState(null);
  const [deadQueue, setDeadQueue] = useState(null);

  useEffect(() => {
    getJson(['auth'])
      .then((r) => setActions(!!r.actions))
      .catch(() => setActions(null));
  }, []);

  const onToken = useCallback((t) => {
    setToken(t);
    saveToken(t);
  }, []);

  // Runs an action; the result (or the daemon's refusal) goes to the notice
  // line. Resolves to the reply, or null when refused.
  const act = useCallback(
    async (segments, what, body) => {
      try {
        const reply = await postAction(segments, token, body);
        const count = typeof reply.count === 'number' ? ` (${reply.count})` : '';
        setNotice({ ok: true, text: `${what}: done${count}` });
        return reply;
      } catch (e) {
        const why = e.status === 401 ? 'the token was refused' : e.message;
        setNotice({ ok: false, text: `${what}: ${why}` });
        return null;
      }
    },
    [token],
  );

  const sites = listOf(summary && summary.sites, 'sites');
  // The dead-job panel opens on the first queue holding dead jobs until the
  // user picks one.
  let shown = deadQueue;
  if (!shown) {
    for (const s of sites) {
      const q = (s.queues || []).find((x) => x.dead > 0);
      if (q) {
        shown = { site: s.name, queue: q.name };
        break;
      }
    }
  }
  const shownSite = shown && sites.find((s) => s.name === shown.site);
  const shownQueue =
    shownSite && (shownSite.queues || []).find((q) => q.name === shown.queue);

  return html`
    <${Header}
      summary=${summary}
      error=${error}
      token=${token}
      onToken=${onToken}
      actions=${actions}
    />
    ${notice &&
    html`<p class=${'notice ' + (notice.ok ? 'ok' : 'bad')} role="status">
      ${notice.text}
      <button class="link" onClick=${() => setNotice(null)}>dismiss</button>
    </p>`}
    <main>
      <${Overview} overview=${summary && summary.overview} />
      <${Sites}
        sites=${sites}
        loaded=${!!summary}
        act=${act}
        onShowDead=${setDeadQueue}
        shown=${shown}
      />
      <${DeadJobs}
        target=${shown}
        total=${shownQueue ? shownQueue.dead : null}
        act=${act}
      />
      <${Delayed} sites=${sites} />
      <${Periodic} periodic=${summary && summary.periodic} act=${act} />
      <${Daemons} daemons=${summary && summary.daemons} />
      <${Listeners} listeners=${summary && summary.listeners} />
    </main>
  `;
}

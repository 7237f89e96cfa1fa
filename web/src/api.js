// The daemon's /api/v1 (docs/api.md): reads, and actions that carry the
// token. Every request goes to the page's own origin; nothing here logs to
// the console (a refused action is shown on the page instead).

// "/api/v1/sites/a%3Ab/queues/q" from ["sites", "a:b", "queues", "q"]:
// every segment percent-encoded, so any site, queue or job name is safe.
export function apiPath(segments, query) {
  let path = '/api/v1/' + segments.map(encodeURIComponent).join('/');
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
    }
    const text = q.toString();
    if (text) path += '?' + text;
  }
  return path;
}

// The reply's JSON, or an Error whose message is the daemon's "error" (or
// the status when the body says nothing).
async function decode(response) {
  let body = null;
  try {
    body = await response.json();
  } catch (e) {
    body = null;
  }
  if (!response.ok) {
    const why = body && typeof body.error === 'string' ? body.error : '';
    const err = new Error(`${response.status}${why ? ': ' + why : ''}`);
    err.status = response.status;
    throw err;
  }
  return body;
}

export async function getJson(segments, query, signal) {
  const response = await fetch(apiPath(segments, query), {
    headers: { Accept: 'application/json' },
    cache: 'no-store',
    credentials: 'omit',
    signal,
  });
  return decode(response);
}

// POST with "Authorization: Bearer TOKEN"; `body` (optional) as JSON.
export async function postAction(segments, token, body) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(apiPath(segments), {
    method: 'POST',
    headers,
    cache: 'no-store',
    credentials: 'omit',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return decode(response);
}

// The action token: typed once into the "Token" field, kept in this tab's
// sessionStorage (gone when the tab closes, never sent to another tab or
// written to disk by the page).
const kKey = 'queuedaemon.token';

export function loadToken() {
  try {
    return sessionStorage.getItem(kKey) || '';
  } catch (e) {
    return '';
  }
}

export function saveToken(token) {
  try {
    if (token) sessionStorage.setItem(kKey, token);
    else sessionStorage.removeItem(kKey);
  } catch (e) {
    // Storage refused (private mode quota): the token lives in memory only.
  }
}

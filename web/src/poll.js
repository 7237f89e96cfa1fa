// useSummary: GET /api/v1/summary once a second while the tab is visible.
// The next request is scheduled only after the previous one finished and at
// least 1 s after it started, so a tab never has two in flight nor more
// than one a second, however slow the daemon is; a hidden tab stops.
import { useEffect, useRef, useState } from 'preact/hooks';
import { getJson } from './api.js';

const kIntervalMs = 1000;

export function useSummary() {
  const [state, setState] = useState({ summary: null, error: null, at: 0 });
  const timer = useRef(0);

  useEffect(() => {
    let stopped = false;
    let running = false;

    async function tick() {
      timer.current = 0;
      if (stopped || running || document.hidden) return;
      running = true;
      const started = performance.now();
      try {
        const summary = await getJson(['summary']);
        if (!stopped) setState({ summary, error: null, at: Date.now() });
      } catch (e) {
        if (!stopped) setState((s) => ({ ...s, error: e.message }));
      }
      running = false;
      if (stopped) return;
      const wait = Math.max(0, kIntervalMs - (performance.now() - started));
      timer.current = setTimeout(tick, wait);
    }

    function onVisibility() {
      if (!document.hidden && !timer.current && !running) tick();
    }

    document.addEventListener('visibilitychange', onVisibility);
    tick();
    return () => {
      stopped = true;
      clearTimeout(timer.current);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, []);

  return state;
}

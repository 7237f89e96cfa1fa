// Numbers, sizes, durations and times as the tables show them. Every value
// from the daemon is rendered as text by preact, never as markup; these
// only make it shorter.

export function num(n) {
  if (n === null || n === undefined) return '–';
  if (typeof n !== 'number') return String(n);
  return n.toLocaleString('en-US', { maximumFractionDigits: 1 });
}

export function bytes(n) {
  if (typeof n !== 'number') return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

// 950 -> "950 ms", 65000 -> "1m 5s", 90061000 -> "1d 1h".
export function duration(ms) {
  if (typeof ms !== 'number') return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  let s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  s %= 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

function pad(n) {
  return String(n).padStart(2, '0');
}

// Local time, "2026-12-06 22:19:25", or "–".
export function time(ms) {
  if (typeof ms !== 'number' || !ms) return '–';
  const t = new Date(ms);
  return (
    `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())} ` +
    `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`
  );
}

// Any JSON value as one line of text (fence details, unknown fields).
export function text(v) {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

// The list in one of the summary's parts: the part is the reply of its
// own endpoint ({"sites": [...]}); a bare array is taken as well.
export function listOf(part, key) {
  if (Array.isArray(part)) return part;
  return (part && Array.isArray(part[key]) && part[key]) || [];
}

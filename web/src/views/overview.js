// Overview: the totals and two charts of the last 15 minutes (processed
// and failed per second; ready jobs across every queue), from the
// summary's overview.series.
import { useMemo } from 'preact/hooks';
import { html } from '../html.js';
import { num } from '../format.js';
import { Chart } from './chart.js';

const kRates = [
  { label: 'processed/s', stroke: '#2f7d32' },
  { label: 'failed/s', stroke: '#c62828' },
];
const kDepth = [{ label: 'ready', stroke: '#1565c0' }];

// points [[t_ms, processed, failed, ready], ...] -> uPlot's column arrays.
function columns(points) {
  const xs = [];
  const processed = [];
  const failed = [];
  const ready = [];
  for (const p of points || []) {
    xs.push(p[0] / 1000);
    processed.push(p[1]);
    failed.push(p[2]);
    ready.push(p[3]);
  }
  return { rates: [xs, processed, failed], depth: [xs, ready] };
}

export function Overview({ overview }) {
  const totals = (overview && overview.totals) || {};
  const points = overview && overview.series && overview.series.points;
  const data = useMemo(() => columns(points), [points]);
  const names = ['processed', 'failed', 'ready', 'pending', 'delayed', 'dead'];
  return html`<section id="overview">
    <h2>Overview</h2>
    <dl class="totals">
      ${names.map(
        (n) => html`<div class=${'total ' + n} key=${n}>
          <dt>${n}</dt>
          <dd>${num(totals[n])}</dd>
        </div>`,
      )}
    </dl>
    <div class="charts">
      <${Chart} title="Processed / failed per second" lines=${kRates} data=${data.rates} />
      <${Chart} title="Queue depth (ready), last 15 minutes" lines=${kDepth} data=${data.depth} />
    </div>
  </section>`;
}

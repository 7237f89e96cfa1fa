// Chart: one uPlot time-series chart. The uPlot instance is made once and
// fed new data on every poll (setData), so a second's update redraws the
// canvas without rebuilding the DOM; its width follows the container.
import uPlot from 'uplot';
import { useEffect, useRef } from 'preact/hooks';
import { html } from '../html.js';

const kHeight = 180;

// `lines`: [{label, stroke}], one per data column after x; `data`:
// [xs_in_seconds, ys1, ys2, ...] as uPlot takes it.
export function Chart({ title, lines, data }) {
  const box = useRef(null);
  const plot = useRef(null);

  useEffect(() => {
    const el = box.current;
    const opts = {
      width: Math.max(200, el.clientWidth),
      height: kHeight,
      // From 0, with room above the highest point so a flat line is not
      // drawn on the chart's edge.
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.15 : 1] } },
      series: [
        {},
        ...lines.map((l) => ({ label: l.label, stroke: l.stroke, width: 2, points: { show: false } })),
      ],
      axes: [{}, { size: 60 }],
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
    };
    plot.current = new uPlot(opts, data, el);
    const resize = new ResizeObserver(() => {
      plot.current.setSize({ width: Math.max(200, el.clientWidth), height: kHeight });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current.destroy();
      plot.current = null;
    };
  }, []);

  useEffect(() => {
    if (plot.current) plot.current.setData(data);
  }, [data]);

  return html`<figure class="chart">
    <figcaption>${title}</figcaption>
    <div ref=${box} class="plot"></div>
  </figure>`;
}

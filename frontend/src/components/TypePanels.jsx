// Panels for the other metric types: enum → state shares, histogram → heatmap or percentile lines.
import { useRef } from 'react';
import { urls } from '../api/client.js';
import { Heatmap, HeatmapKey } from '../chart/Heatmap.jsx';
import { PieChart } from '../chart/PieChart.jsx';
import { useFetch, useWidth } from '../data/useFetch.js';
import { formatSelector } from '../api/selector.js';
import { QUANTILES, chartOf } from '../model.js';
import { Fetched, LoadingBar } from './Status.jsx';
import { TypeBadge } from './TypeBadge.jsx';

function PanelHead({ pick, type, children }) {
  return (
    <header className="panel-head">
      <TypeBadge type={type} />
      <h2 title={formatSelector(pick)}>{formatSelector(pick)}</h2>
      {children}
    </header>
  );
}

export function EnumPanel({ pick, view, reloadKey }) {
  const res = useFetch(urls.states(pick.name, { filters: pick.filters, start: view[0], end: view[1] }), reloadKey);
  return (
    <section className="panel panel-enum" data-metric={pick.name}>
      <LoadingBar active={res.loading} />
      <PanelHead pick={pick} type="enum" />
      <Fetched state={res} isEmpty={(d) => !d.states?.some((st) => st.share > 0)}>
        <PieChart states={(res.data?.states || []).filter((st) => st.share > 0)} mode={chartOf(pick, 'enum')} />
      </Fetched>
    </section>
  );
}

export function HistogramPanel({ pick, meta, view, gran, tz, reloadKey, onZoom }) {
  const ref = useRef(null);
  const width = useWidth(ref);
  const plotWidth = Math.max(50, width - 80);
  const mode = gran === 'auto' ? { width: plotWidth } : { granularity: gran };
  const url = width
    ? urls.heatmap(pick.name, { filters: pick.filters, start: view[0], end: view[1], ...mode, quantiles: QUANTILES, tz })
    : null;
  const res = useFetch(url, reloadKey);
  const cells = chartOf(pick, 'histogram') === 'heatmap';
  return (
    <section className="panel panel-histogram" data-metric={pick.name}>
      <LoadingBar active={res.loading} />
      <PanelHead pick={pick} type="histogram">
        {res.data && <HeatmapKey data={res.data} showCells={cells} />}
      </PanelHead>
      <div ref={ref} className="chart-area">
        {width > 0 && (
          <Fetched state={res} isEmpty={(d) => !d.points?.some((p) => p[1])}>
            {res.data && <Heatmap data={res.data} domain={view} width={width} unit={meta?.unit} showCells={cells}
              onZoom={onZoom} onZoomOut={() => onZoom(null)} />}
          </Fetched>
        )}
      </div>
    </section>
  );
}

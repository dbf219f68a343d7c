// Panels for the other metric types: enum → state shares, histogram → heatmap or percentile lines. The bodies
// (fetch + chart) are shared with dashboard panels, which bring their own header.
import { useRef } from 'react';
import { urls } from '../api/client.js';
import { Heatmap, HeatmapKey } from '../chart/Heatmap.jsx';
import { PieChart } from '../chart/PieChart.jsx';
import { summedOver } from '../data/series.js';
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

/**
 * An enum's state shares over the view, as a donut or bars; when its filters match several series, their times
 * are added, and it says so (issue 26).
 */
export function EnumBody({ pick, view, reloadKey, mode = chartOf(pick, 'enum') }) {
  const res = useFetch(urls.states(pick.name, { filters: pick.filters, start: view[0], end: view[1] }), reloadKey, { first: true });
  const labelSets = useFetch(urls.series(pick.name), reloadKey);
  const sum = labelSets.data && summedOver(labelSets.data, pick.filters);
  return (
    <>
      <LoadingBar active={res.loading} />
      <Fetched state={res} isEmpty={(d) => !d.states?.some((st) => st.share > 0)}>
        <PieChart states={(res.data?.states || []).filter((st) => st.share > 0)} mode={mode} />
        {sum && <p className="muted pie-sum" data-testid="pie-sum">{sum}</p>}
      </Fetched>
    </>
  );
}

export function EnumPanel({ pick, view, reloadKey }) {
  return (
    <section className="panel panel-enum" data-metric={pick.name}>
      <PanelHead pick={pick} type="enum" />
      <EnumBody pick={pick} view={view} reloadKey={reloadKey} />
    </section>
  );
}

/** A histogram's heatmap (or percentile lines only) over the view; `head` renders above it with the data. */
export function HistogramBody({ pick, unit, view, gran = 'auto', tz, reloadKey, onZoom, height, head }) {
  const ref = useRef(null);
  const width = useWidth(ref);
  const plotWidth = Math.max(50, width - 80);
  const mode = gran === 'auto' ? { width: plotWidth } : { granularity: gran };
  const url = width
    ? urls.heatmap(pick.name, { filters: pick.filters, start: view[0], end: view[1], ...mode, quantiles: QUANTILES, tz })
    : null;
  const res = useFetch(url, reloadKey, { first: true });
  const cells = chartOf(pick, 'histogram') === 'heatmap';
  return (
    <>
      <LoadingBar active={res.loading} />
      {head?.(res.data && <HeatmapKey data={res.data} showCells={cells} />)}
      <div ref={ref} className="chart-area">
        {width > 0 && (
          <Fetched state={res} isEmpty={(d) => !d.points?.some((p) => p[1])}>
            {res.data && <Heatmap data={res.data} domain={view} width={width} height={height} unit={unit} showCells={cells}
              onZoom={onZoom} onZoomOut={() => onZoom(null)} />}
          </Fetched>
        )}
      </div>
    </>
  );
}

export function HistogramPanel({ pick, meta, view, gran, tz, reloadKey, onZoom }) {
  return (
    <section className="panel panel-histogram" data-metric={pick.name}>
      <HistogramBody pick={pick} unit={meta?.unit} view={view} gran={gran} tz={tz} reloadKey={reloadKey} onZoom={onZoom}
        head={(key) => <PanelHead pick={pick} type="histogram">{key}</PanelHead>} />
    </section>
  );
}

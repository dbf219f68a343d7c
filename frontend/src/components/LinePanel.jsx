// Gauges and counters: the focus chart (one y-axis per unit), its overview with a brush, and the legend.
import { useEffect, useMemo, useRef, useState } from 'react';
import { urls } from '../api/client.js';
import { buildQueryString, partitionQueries } from '../api/query.js';
import { assignAxes } from '../chart/axes.js';
import { FocusChart } from '../chart/FocusChart.jsx';
import { formatTime } from '../chart/format.js';
import { Legend } from '../chart/Legend.jsx';
import { Overview } from '../chart/Overview.jsx';
import { colorAt } from '../chart/palette.js';
import { isAllEmpty, toSeries } from '../data/series.js';
import { useFetchAll, useWidth } from '../data/useFetch.js';
import { chartOf } from './PickEditor.jsx';
import { Empty, ErrorNotice, LoadingBar, Spinner } from './Status.jsx';

const FOCUS_HEIGHT = 340;

/** Axis layout from the last loaded series' units (the catalog's until data arrives), coloured like them. */
function useLayout(seen, picks, metaOf) {
  return useMemo(() => {
    const src = seen.length
      ? seen
      : picks.map((p, i) => ({ unit: metaOf(p.name)?.unit ?? '', color: colorAt(i) }));
    return assignAxes(src);
  }, [seen, picks, metaOf]);
}

export function LinePanel({ picks, metaOf, range, view, zoomed, state, update, tz, reloadKey }) {
  const ref = useRef(null);
  const width = useWidth(ref);
  const [hidden, setHidden] = useState(() => new Set());
  const [preview, setPreview] = useState(null);
  const typeOf = (name) => metaOf(name)?.type;
  const styleOf = (name) => chartOf(picks.find((p) => p.name === name) || {}, typeOf(name) || 'gauge');
  const parts = partitionQueries(picks, typeOf, state.agg);

  const [seen, setSeen] = useState([]);
  const layout = useLayout(seen, picks, metaOf);
  const plotWidth = Math.max(50, width - layout.marginLeft - layout.marginRight);
  const mode = state.gran === 'auto' ? { width: plotWidth } : { granularity: state.gran };
  const mainUrls = width
    ? parts.map((p) => urls.query(buildQueryString({ ...p, start: view[0], end: view[1], ...mode, tz })))
    : [];
  const overviewUrls = width
    ? parts.map((p) => urls.query(buildQueryString({ ...p, start: range[0], end: range[1], width: plotWidth, tz })))
    : [];
  const shared = overviewUrls.join() === mainUrls.join();
  const main = useFetchAll(mainUrls, reloadKey);
  const over = useFetchAll(shared ? [] : overviewUrls, reloadKey);

  const series = useMemo(() => toSeries(main.data, styleOf), [main.data, picks, metaOf]);
  const signature = series.map((s) => `${s.unit}|${s.color}`).join();
  useEffect(() => {
    if (main.data) setSeen(series.map(({ unit, color }) => ({ unit, color })));
  }, [signature]);
  const overview = useMemo(
    () => (shared ? series : toSeries(over.data)),
    [shared, series, over.data],
  );
  const visible = series.filter((s) => !hidden.has(s.key));
  const empty = series.length === 0 || isAllEmpty(series);
  const domain = preview || view;
  const toggle = (key) => setHidden((h) => {
    const n = new Set(h);
    if (n.has(key)) n.delete(key);
    else n.add(key);
    return n;
  });
  const zoomTo = ([a, b]) => {
    const z = [Math.max(range[0], Math.round(a)), Math.min(range[1], Math.round(b))];
    update({ zoom: z[1] - z[0] >= 1000 && (z[0] > range[0] || z[1] < range[1]) ? z : null, live: false });
  };
  const bins = main.data?.[0]?.bins;

  return (
    <section className="panel panel-main" aria-label="Chart">
      <LoadingBar active={main.loading || over.loading} />
      <header className="panel-head">
        <h2>{picks.map((p) => p.name).join(', ')}</h2>
        <span className="panel-meta">
          {formatTime(view[0])} – {formatTime(view[1])}
          {bins && <span className="chip chip-muted" title="Bin size chosen by the server">{bins} bins</span>}
        </span>
        {zoomed && (
          <button type="button" className="btn btn-small" onClick={() => update({ zoom: null })}>Reset zoom</button>
        )}
      </header>
      <div ref={ref} className="chart-area" style={{ minHeight: FOCUS_HEIGHT }}>
        {main.error && <ErrorNotice error={main.error} />}
        {!main.error && !main.data && <Spinner />}
        {!main.error && main.data && !empty && width > 0 && (
          <FocusChart
            series={visible}
            layout={layout}
            domain={domain}
            width={width}
            height={FOCUS_HEIGHT}
            onZoom={zoomTo}
            onZoomOut={() => update({ zoom: null })}
            svgProps={{
              'data-testid': 'main-chart',
              'data-start': view[0],
              'data-end': view[1],
              'data-width': plotWidth,
              'data-query': mainUrls.join(' '),
            }}
          />
        )}
        {!main.error && main.data && empty && (
          <div className="chart-empty">
            <Empty>Nothing was recorded for these series between {formatTime(view[0])} and {formatTime(view[1])}.</Empty>
          </div>
        )}
      </div>
      {width > 0 && (
        <Overview
          series={overview}
          layout={layout}
          domain={range}
          width={width}
          selection={preview || (zoomed ? view : null)}
          onBrushing={setPreview}
          onBrushEnd={(sel) => {
            setPreview(null);
            if (sel) zoomTo(sel);
            else update({ zoom: null });
          }}
        />
      )}
      <p className="hint">Drag across the chart or the overview to zoom · double-click to zoom out</p>
      {!empty && <Legend series={series} hidden={hidden} onToggle={toggle} />}
    </section>
  );
}

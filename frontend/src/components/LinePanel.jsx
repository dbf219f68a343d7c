// Gauges and counters: the focus chart (one y-axis per unit), its overview with a brush, and the legend.
import { useMemo, useRef, useState } from 'react';
import { AlertBands, useAlertBands } from '../alerts/AlertBands.jsx';
import { AnomalyMarks, useAnomalyMarks } from '../anomaly/AnomalyMarks.jsx';
import { FocusChart } from '../chart/FocusChart.jsx';
import { formatTime } from '../chart/format.js';
import { Legend } from '../chart/Legend.jsx';
import { Overview } from '../chart/Overview.jsx';
import { useSeriesVisibility } from '../chart/useSeriesVisibility.js';
import { useWidth } from '../data/useFetch.js';
import { useLineData } from '../data/useLineData.js';
import { ShareMenu } from './ShareMenu.jsx';
import { Empty, ErrorNotice, LoadingBar, Spinner } from './Status.jsx';

const FOCUS_HEIGHT = 340;

export function LinePanel({ picks, metaOf, range, view, zoomed, state, onZoom, tz, reloadKey, actions }) {
  const ref = useRef(null);
  const width = useWidth(ref);
  const [preview, setPreview] = useState(null);
  const [showAlerts, setShowAlerts] = useState(true);
  const names = useMemo(() => picks.map((p) => p.name), [picks]);
  const alertBands = useAlertBands(names, view, showAlerts, reloadKey);
  const { layout, plotWidth, mainUrls, main, over, series, overview, empty, bins } = useLineData({
    picks, metaOf, range, view, state, width, tz, reloadKey,
  });
  const visibility = useSeriesVisibility(series, layout);
  const shownOverview = useMemo(() => overview.filter((s) => !visibility.hidden.has(s.key)),
    [overview, visibility.hidden]);
  const [showAnomalies, setShowAnomalies] = useState(false);
  const anomalies = useAnomalyMarks(picks, (name) => metaOf(name)?.type, view, plotWidth, showAnomalies, reloadKey);
  const domain = preview || view;
  const zoomTo = ([a, b]) => {
    const z = [Math.max(range[0], Math.round(a)), Math.min(range[1], Math.round(b))];
    onZoom(z[1] - z[0] >= 1000 && (z[0] > range[0] || z[1] < range[1]) ? z : null);
  };

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
          <button type="button" className="btn btn-small" onClick={() => onZoom(null)}>Reset zoom</button>
        )}
        <label className="chip alert-toggle" title="Pending (amber) and firing (red) intervals of the rules on these metrics">
          <input type="checkbox" checked={showAlerts} onChange={(e) => setShowAlerts(e.target.checked)} /> alerts
        </label>
        <label className="chip anomaly-toggle" title="Where a gauge left the range or the pattern of its points before (agg=anomaly)">
          <input type="checkbox" checked={showAnomalies} onChange={(e) => setShowAnomalies(e.target.checked)} /> anomalies
        </label>
        <span className="panel-actions">
          {actions}
          <ShareMenu svgOf={() => ref.current?.querySelector('svg[data-testid=main-chart]')} urlsOf={() => mainUrls}
            name={picks.map((p) => p.name).join('_')} title={picks.map((p) => p.name).join(', ')} view={view} />
        </span>
      </header>
      <div ref={ref} className="chart-area" style={{ minHeight: FOCUS_HEIGHT }}>
        {main.error && <ErrorNotice error={main.error} />}
        {!main.error && !main.data && <Spinner />}
        {!main.error && main.data && !empty && width > 0 && (
          <FocusChart
            series={visibility.visible}
            layout={visibility.layout}
            domain={domain}
            width={width}
            height={FOCUS_HEIGHT}
            onZoom={zoomTo}
            onZoomOut={() => onZoom(null)}
            overlay={(ctx) => (
              <>
                <AlertBands ctx={ctx} bands={alertBands} />
                <AnomalyMarks ctx={ctx} marks={anomalies} />
              </>
            )}
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
          series={shownOverview}
          layout={visibility.layout}
          domain={range}
          width={width}
          selection={preview || (zoomed ? view : null)}
          onBrushing={setPreview}
          onBrushEnd={(sel) => {
            setPreview(null);
            if (sel) zoomTo(sel);
            else onZoom(null);
          }}
        />
      )}
      <p className="hint">Drag across the chart or the overview to zoom · double-click to zoom out</p>
      {!empty && <Legend series={series} visibility={visibility} />}
    </section>
  );
}

// One dashboard panel in the grid: its title and tools (move, size, edit, duplicate, remove) over its chart.
// Lines, bars, stacked bars and points share the Explore view's data hook and focus chart; "stat" shows the
// last value of each series large over its sparkline, coloured by the thresholds (Stat.jsx); pie and heatmap reuse the enum and histogram bodies.
import { useRef } from 'react';
import { FocusChart } from '../chart/FocusChart.jsx';
import { Legend } from '../chart/Legend.jsx';
import { useSeriesVisibility } from '../chart/useSeriesVisibility.js';
import { ShareMenu } from '../components/ShareMenu.jsx';
import { Empty, ErrorNotice, Spinner } from '../components/Status.jsx';
import { EnumBody, HistogramBody } from '../components/TypePanels.jsx';
import { useWidth } from '../data/useFetch.js';
import { useLineData } from '../data/useLineData.js';
import { HEIGHTS, WIDTHS, panelPicks } from './model.js';
import { Stat } from './Stat.jsx';

const ROW_PX = 150;

function TimeBody({ panel, picks, metaOf, view, reloadKey, onZoom, height }) {
  const ref = useRef(null);
  const width = useWidth(ref);
  const state = { gran: 'auto', agg: panel.agg };
  const { layout, plotWidth, mainUrls, main, series, empty } = useLineData({
    picks, metaOf, range: view, view, state, width, tz: undefined, reloadKey,
  });
  const stat = panel.chart === 'stat';
  const chartHeight = Math.max(120, height - (stat || panel.h < 2 ? 0 : 24 + Math.min(series.length, 4) * 22));
  const visibility = useSeriesVisibility(series, layout);
  return (
    <div ref={ref} className="chart-area" style={{ minHeight: stat ? undefined : chartHeight }}>
      {main.error && <ErrorNotice error={main.error} />}
      {!main.error && !main.data && <Spinner />}
      {!main.error && main.data && empty && <Empty />}
      {!main.error && main.data && !empty && stat && (
        <Stat series={series} thresholds={panel.y?.thresholds || []} />
      )}
      {!main.error && main.data && !empty && !stat && width > 0 && (
        <>
          <FocusChart series={visibility.visible} layout={visibility.layout} domain={view} width={width}
            height={chartHeight} y={panel.y} onZoom={onZoom} onZoomOut={() => onZoom(null)}
            svgProps={{ 'data-testid': 'panel-chart', 'data-width': plotWidth, 'data-query': mainUrls.join(' ') }} />
          {panel.h >= 2 && <Legend series={series} visibility={visibility} />}
        </>
      )}
    </div>
  );
}

export function PanelCard({ panel, values, metaOf, view, reloadKey, onZoom, onEdit, onChange, onMove, onDuplicate, onRemove }) {
  const ref = useRef(null);
  const svgOf = () => ref.current?.querySelector('svg[data-testid=panel-chart], svg[data-testid=heatmap], .pie svg');
  const share = (
    <ShareMenu svgOf={svgOf} name={panel.title || panel.id} title={panel.title} view={view}
      urlsOf={() => (svgOf()?.getAttribute('data-query') || '').split(' ').filter(Boolean)} />
  );
  const picks = panelPicks(panel, values);
  const height = panel.h * ROW_PX;
  const first = picks[0];
  let body;
  if (panel.chart === 'pie') body = <EnumBody pick={first} view={view} reloadKey={reloadKey} mode="pie" />;
  else if (panel.chart === 'heatmap') {
    body = <HistogramBody pick={first} unit={metaOf(first.name)?.unit} view={view} reloadKey={reloadKey}
      onZoom={onZoom} height={height} />;
  } else body = <TimeBody panel={panel} picks={picks} metaOf={metaOf} view={view} reloadKey={reloadKey} onZoom={onZoom} height={height} />;
  return (
    <section ref={ref} className="panel dash-panel" data-panel={panel.id} data-w={panel.w} style={{ '--w': panel.w }}
      aria-label={panel.title || 'Panel'}>
      <header className="panel-head dash-panel-head">
        <h2 title={panel.title}>{panel.title || <span className="muted">Untitled</span>}</h2>
        <span className="spacer" />
        <div className="panel-tools" role="group" aria-label={`Arrange ${panel.title || 'panel'}`}>
          <button type="button" className="btn btn-small" onClick={() => onMove(-1)} aria-label="Move earlier" title="Move earlier">◀</button>
          <button type="button" className="btn btn-small" onClick={() => onMove(1)} aria-label="Move later" title="Move later">▶</button>
          <select className="field-select" aria-label="Width" value={panel.w} onChange={(e) => onChange({ w: Number(e.target.value) })}>
            {WIDTHS.map((w) => <option key={w} value={w}>{w}/12</option>)}
          </select>
          <select className="field-select" aria-label="Height" value={panel.h} onChange={(e) => onChange({ h: Number(e.target.value) })}>
            {HEIGHTS.map((h) => <option key={h} value={h}>{'▮'.repeat(h)}</option>)}
          </select>
          <button type="button" className="btn btn-small" onClick={onEdit}>Edit</button>
          {share}
          <button type="button" className="btn btn-small" onClick={onDuplicate} aria-label="Duplicate panel" title="Duplicate">Copy</button>
          <button type="button" className="btn btn-small btn-danger" onClick={onRemove} aria-label="Remove panel" title="Remove">×</button>
        </div>
      </header>
      {body}
    </section>
  );
}

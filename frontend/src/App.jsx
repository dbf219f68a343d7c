// The dashboard: metric browser on the left, time controls on top, graph or table of the picked metrics.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { urls } from './api/client.js';
import { ErrorBoundary } from './components/ErrorBoundary.jsx';
import { LinePanel } from './components/LinePanel.jsx';
import { MetricBrowser } from './components/MetricBrowser.jsx';
import { PickEditor } from './components/PickEditor.jsx';
import { Empty, ErrorNotice, Spinner } from './components/Status.jsx';
import { TableView } from './components/TableView.jsx';
import { DataControls, TimeControls } from './components/TimeControls.jsx';
import { EnumPanel, HistogramPanel } from './components/TypePanels.jsx';
import { useFetch } from './data/useFetch.js';
import { useUrlState } from './state/useUrlState.js';
import { resolveRange } from './time/range.js';

const LIVE_MS = 10_000;
const TZ = Intl.DateTimeFormat().resolvedOptions().timeZone;

/** The clock the relative ranges resolve against: set on range changes, refresh, and every tick when live. */
function useNow(state) {
  const [now, setNow] = useState(() => Date.now());
  const refresh = useCallback(() => setNow(Date.now()), []);
  useEffect(refresh, [state.from, state.to, refresh]);
  useEffect(() => {
    if (!state.live) return undefined;
    const id = setInterval(refresh, LIVE_MS);
    return () => clearInterval(id);
  }, [state.live, refresh]);
  return [now, refresh];
}

function Tabs({ tab, onChange }) {
  const tabs = [['graph', 'Graph'], ['table', 'Table']];
  const onKeyDown = (e) => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    const i = tabs.findIndex(([id]) => id === tab);
    const next = tabs[(i + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length][0];
    onChange(next);
    e.currentTarget.querySelector(`[data-tab="${next}"]`)?.focus();
  };
  return (
    <div className="tabs" role="tablist" aria-label="View" onKeyDown={onKeyDown}>
      {tabs.map(([id, label]) => (
        <button key={id} type="button" role="tab" data-tab={id} aria-selected={tab === id} tabIndex={tab === id ? 0 : -1}
          className={`tab${tab === id ? ' is-on' : ''}`} onClick={() => onChange(id)}>
          {label}
        </button>
      ))}
    </div>
  );
}

export function App() {
  const [state, update] = useUrlState();
  const [now, refresh] = useNow(state);
  const [reloadKey, setReloadKey] = useState(0);
  const catalog = useFetch(urls.metrics(), reloadKey);
  const byName = useMemo(() => new Map((catalog.data || []).map((m) => [m.name, m])), [catalog.data]);
  const metaOf = useCallback((name) => byName.get(name), [byName]);

  const { from, to } = state;
  const range = useMemo(() => resolveRange({ from, to }, now), [from, to, now]);
  const zoom = state.zoom && state.zoom[0] < range[1] && state.zoom[1] > range[0]
    ? [Math.max(range[0], state.zoom[0]), Math.min(range[1], state.zoom[1])]
    : null;
  const view = zoom || range;

  const typeOf = (p) => metaOf(p.name)?.type || 'gauge';
  const linePicks = state.picks.filter((p) => ['gauge', 'counter'].includes(typeOf(p)));
  const enumPicks = state.picks.filter((p) => typeOf(p) === 'enum');
  const histPicks = state.picks.filter((p) => typeOf(p) === 'histogram');
  const picked = useMemo(() => new Set(state.picks.map((p) => p.name)), [state.picks]);

  const togglePick = (m) => update((s) => ({
    picks: s.picks.some((p) => p.name === m.name)
      ? s.picks.filter((p) => p.name !== m.name)
      : [...s.picks, { name: m.name, filters: {}, groupBy: [] }],
  }));
  const changePick = (pick) => update((s) => ({ picks: s.picks.map((p) => (p.name === pick.name ? pick : p)) }));
  const onRefresh = () => {
    refresh();
    setReloadKey((k) => k + 1);
  };
  const common = { metaOf, view, state, tz: TZ, reloadKey };

  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          <svg width="22" height="22" viewBox="0 0 16 16" aria-hidden="true">
            <rect width="16" height="16" rx="3.5" fill="#0b5cad" />
            <path d="M2.5 11l3-4 3 2 3-5 2.5 3" stroke="#fff" strokeWidth="1.6" fill="none" strokeLinejoin="round" />
          </svg>
          <span>metrics_server</span>
        </div>
        <TimeControls state={state} range={range} update={update} onRefresh={onRefresh} />
      </header>
      <aside className="sidebar">
        <MetricBrowser catalog={catalog} picked={picked} onToggle={togglePick} />
        {state.picks.length > 0 && (
          <section className="picks" aria-label="Picked metrics">
            <h3 className="section-title">Selected <span className="count">{state.picks.length}</span></h3>
            {state.picks.map((p) => (
              <ErrorBoundary key={p.name}>
                <PickEditor pick={p} meta={metaOf(p.name)} onChange={changePick} onRemove={() => togglePick(p)} />
              </ErrorBoundary>
            ))}
          </section>
        )}
      </aside>
      <main className="content">
        <div className="view-bar">
          <Tabs tab={state.tab} onChange={(tab) => update({ tab })} />
          <DataControls state={state} update={update} />
        </div>
        {state.picks.length === 0 && (
          <section className="panel">
            <Empty title="Pick metrics to get started">
              Choose one or more metrics in the list on the left; use the arrow keys and Enter, or click.
            </Empty>
          </section>
        )}
        {state.picks.length > 0 && !catalog.data && (
          <section className="panel">
            {catalog.error ? <ErrorNotice error={catalog.error} /> : <Spinner label="Loading metrics…" />}
          </section>
        )}
        {catalog.data && state.tab === 'graph' && state.picks.length > 0 && (
          <div className="panels">
            {linePicks.length > 0 && (
              <ErrorBoundary>
                <LinePanel picks={linePicks} range={range} zoomed={!!zoom} update={update} {...common} />
              </ErrorBoundary>
            )}
            {histPicks.map((p) => (
              <ErrorBoundary key={p.name}>
                <HistogramPanel pick={p} meta={metaOf(p.name)} view={view} gran={state.gran} tz={TZ} reloadKey={reloadKey} />
              </ErrorBoundary>
            ))}
            {enumPicks.length > 0 && (
              <div className="panel-grid">
                {enumPicks.map((p) => (
                  <ErrorBoundary key={p.name}>
                    <EnumPanel pick={p} view={view} reloadKey={reloadKey} />
                  </ErrorBoundary>
                ))}
              </div>
            )}
          </div>
        )}
        {catalog.data && state.tab === 'table' && linePicks.length > 0 && (
          <ErrorBoundary>
            <TableView picks={linePicks} {...common} />
          </ErrorBoundary>
        )}
        {catalog.data && state.tab === 'table' && state.picks.length > 0 && linePicks.length === 0 && (
          <section className="panel">
            <Empty title="No table for these metrics">The table lists gauges and counters; enums and histograms are shown on the Graph tab.</Empty>
          </section>
        )}
      </main>
    </div>
  );
}

// The page: metric browser on the left (a drawer on narrow screens), time controls on top, the graph or table of
// the picked metrics. The view lives in the URL (state/urlState.js).
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { AlertsView } from './alerts/AlertsView.jsx';
import { FiringCount } from './alerts/FiringCount.jsx';
import { urls } from './api/client.js';
import { AccountMenu } from './auth/AuthGate.jsx';
import { ErrorBoundary } from './components/ErrorBoundary.jsx';
import { LinePanel } from './components/LinePanel.jsx';
import { MetricBrowser } from './components/MetricBrowser.jsx';
import { PickEditor } from './components/PickEditor.jsx';
import { Empty, ErrorNotice, Spinner } from './components/Status.jsx';
import { TableView } from './components/TableView.jsx';
import { DataControls, TimeControls } from './components/TimeControls.jsx';
import { EnumPanel, HistogramPanel } from './components/TypePanels.jsx';
import { AddToDashboard } from './dashboard/AddToDashboard.jsx';
import { DashboardList } from './dashboard/DashboardList.jsx';
import { DashboardView } from './dashboard/DashboardView.jsx';
import { panelFromExplore } from './dashboard/model.js';
import { setUtc, zoneOf } from './chart/format.js';
import { useBusy, useFetch } from './data/useFetch.js';
import { LINE_TYPES } from './model.js';
import { DEFAULTS, REFRESH, exploreOf } from './state/urlState.js';
import { useShortcuts } from './state/useShortcuts.js';
import { THEMES, useTheme } from './state/useTheme.js';
import { useUrlState } from './state/useUrlState.js';
import { resolveView, shiftRange, widenRange } from './time/range.js';

/**
 * The clock the relative ranges resolve against: the page's start (`startedAt`, which the requests sent before
 * React started also used, so a relative range asks for the same URLs: data/earlyRequests.js), then set on range
 * changes, refresh, and every auto-refresh tick.
 */
function useNow(state, startedAt) {
  const [now, setNow] = useState(startedAt);
  const refresh = useCallback(() => setNow(Date.now()), []);
  const rangeKey = `${state.from} ${state.to}`;
  const resolvedFor = useRef(rangeKey);
  useEffect(() => {
    if (resolvedFor.current === rangeKey) return;
    resolvedFor.current = rangeKey;
    refresh();
  }, [rangeKey, refresh]);
  const every = REFRESH[state.refresh];
  useEffect(() => {
    if (!every) return undefined;
    const id = setInterval(refresh, every);
    return () => clearInterval(id);
  }, [every, refresh]);
  return [now, refresh];
}

function Tabs({ tab, onChange }) {
  const tabs = [['graph', 'Graph'], ['table', 'Table']];
  const onKeyDown = (e) => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    e.preventDefault();
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

function PanControls({ view, showView }) {
  return (
    <div className="pan" role="group" aria-label="Move in time">
      <button type="button" className="btn btn-small" onClick={() => showView(shiftRange(view, -0.5))} title="Back (←)" aria-label="Pan back">◀</button>
      <button type="button" className="btn btn-small" onClick={() => showView(widenRange(view, 2))} title="Zoom out ×2 (−)" aria-label="Zoom out">−</button>
      <button type="button" className="btn btn-small" onClick={() => showView(shiftRange(view, 0.5))} title="Forward (→)" aria-label="Pan forward">▶</button>
    </div>
  );
}

function ThemeSwitch({ theme, setTheme }) {
  const next = THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length];
  return (
    <button type="button" className="btn btn-small theme-switch" onClick={() => setTheme(next)}
      aria-label={`Theme: ${theme} (switch to ${next})`} title={`Theme: ${theme} — click for ${next}`}>
      {theme === 'dark' ? '☾' : theme === 'light' ? '☀' : '◐'} <span className="theme-name">{theme}</span>
    </button>
  );
}

/** startedAt: the page's start in epoch ms (main.jsx). */
export function App({ startedAt }) {
  const [state, update] = useUrlState();
  setUtc(state.tz === 'utc'); // before anything below formats a time (see chart/format.js)
  const tz = zoneOf(state.tz);
  const [now, refresh] = useNow(state, startedAt);
  const [reloadKey, setReloadKey] = useState(0);
  const [drawer, setDrawer] = useState(false);
  const [theme, setTheme] = useTheme();
  const busy = useBusy();
  const searchRef = useRef(null);
  const catalog = useFetch(urls.metrics(), reloadKey);
  const byName = useMemo(() => new Map((catalog.data || []).map((m) => [m.name, m])), [catalog.data]);
  const metaOf = useCallback((name) => byName.get(name), [byName]);

  const { from, to, zoom: zoomed } = state;
  const resolved = useMemo(() => resolveView({ from, to, zoom: zoomed }, now), [from, to, zoomed, now]);
  const { range, zoom, view } = resolved;

  const typeOf = (p) => metaOf(p.name)?.type || 'gauge';
  const linePicks = state.picks.filter((p) => LINE_TYPES.includes(typeOf(p)));
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
  /** Shows an absolute view (panning and zooming leave "now" behind, so auto-refresh stops). */
  const showView = ([a, b]) => update({ from: String(a), to: String(b), zoom: null, refresh: 'off' });
  /** Zooms into [a, b] of the range (null: the whole range); the range is written absolute so a link keeps it. */
  const zoomTo = (z) => update(z ? { from: String(range[0]), to: String(range[1]), zoom: z, refresh: 'off' } : { zoom: null });
  useShortcuts({
    search: () => {
      setDrawer(true);
      requestAnimationFrame(() => searchRef.current?.focus());
    },
    pan: (dir) => showView(shiftRange(view, dir * 0.5)),
    zoom: (factor) => showView(widenRange(view, factor)),
    refresh: onRefresh,
    close: () => setDrawer(false),
  });
  const common = { metaOf, view, state, tz, reloadKey };
  const explore = !state.dash && state.page === 'explore';
  const [arrival, setArrival] = useState('');
  // Explore's picks and options as it was left: another page's URL goes without them, Explore brings them back.
  const exploreLeft = useRef(exploreOf(DEFAULTS));
  const leave = (patch) => {
    if (explore) exploreLeft.current = exploreOf(state);
    update({ ...exploreOf(DEFAULTS), vars: {}, ...patch });
  };
  /** Opens a dashboard; `note` is said on top of it (how an import was named). */
  const openDashboard = (d, note = '') => {
    setArrival(note);
    leave({ page: 'explore', dash: d.id, from: d.time?.from ?? '-6h', to: d.time?.to ?? 'now' });
  };
  const goTo = (page) => (page === 'explore'
    ? update({ page, dash: null, vars: {}, ...exploreLeft.current })
    : leave({ page, dash: null }));
  const explorePage = (
    <>
      <div className="view-bar">
        <Tabs tab={state.tab} onChange={(tab) => update({ tab })} />
        <PanControls view={view} showView={showView} />
        <DataControls state={state} update={update} />
      </div>
      {state.picks.length === 0 && (
        <section className="panel">
          <Empty title="Pick metrics to get started">
            Choose one or more metrics in the list (press / to search); use the arrow keys and Enter, or click.
          </Empty>
        </section>
      )}
      {state.picks.length > 0 && !catalog.data && (catalog.error || state.tab !== 'graph') && (
        <section className="panel">
          {catalog.error ? <ErrorNotice error={catalog.error} /> : <Spinner label="Loading metrics…" />}
        </section>
      )}
      {/* The graph does not wait for the catalog: until it arrives every pick is drawn as a line (the server
          picks each metric's aggregation), and enums and histograms move to their panels once it is in. */}
      {!catalog.error && state.tab === 'graph' && state.picks.length > 0 && (
        <div className="panels">
          {linePicks.length > 0 && (
            <ErrorBoundary>
              <LinePanel picks={linePicks} range={range} zoomed={!!zoom} onZoom={zoomTo} {...common}
                actions={<AddToDashboard onAdded={openDashboard}
                  makePanel={() => panelFromExplore(linePicks, state.agg, (n) => metaOf(n)?.type)} />} />
            </ErrorBoundary>
          )}
          {histPicks.map((p) => (
            <ErrorBoundary key={p.name}>
              <HistogramPanel pick={p} meta={metaOf(p.name)} view={view} gran={state.gran} tz={tz} reloadKey={reloadKey}
                onZoom={zoomTo} />
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
    </>
  );

  return (
    <div className={`app${drawer ? ' drawer-open' : ''}${explore ? '' : ' no-sidebar'}`}>
      <header className="topbar">
        <button type="button" className="btn btn-icon drawer-toggle" aria-controls="sidebar" aria-expanded={drawer}
          aria-label="Metrics" title="Metrics" onClick={() => setDrawer((d) => !d)}>
          <svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true">
            <path d="M2 4h12M2 8h12M2 12h12" stroke="currentColor" strokeWidth="1.6" />
          </svg>
        </button>
        <div className="brand">
          <svg width="22" height="22" viewBox="0 0 16 16" aria-hidden="true">
            <rect width="16" height="16" rx="3.5" fill="#0b5cad" />
            <path d="M2.5 11l3-4 3 2 3-5 2.5 3" stroke="#fff" strokeWidth="1.6" fill="none" strokeLinejoin="round" />
          </svg>
          <span>metrics_server</span>
        </div>
        <nav className="pages" aria-label="Pages">
          <a href="?" className={`page-link${explore ? ' is-on' : ''}`} aria-current={explore ? 'page' : undefined}
            onClick={(e) => { e.preventDefault(); goTo('explore'); }}>Explore</a>
          <a href="?page=dashboards" className={`page-link${state.page === 'dashboards' || state.dash ? ' is-on' : ''}`}
            aria-current={state.page === 'dashboards' || state.dash ? 'page' : undefined}
            onClick={(e) => { e.preventDefault(); goTo('dashboards'); }}>Dashboards</a>
          <a href="?page=alerts" className={`page-link${state.page === 'alerts' ? ' is-on' : ''}`}
            aria-current={state.page === 'alerts' ? 'page' : undefined}
            onClick={(e) => { e.preventDefault(); goTo('alerts'); }}>Alerts</a>
        </nav>
        <TimeControls state={state} range={range} update={update} onRefresh={onRefresh} busy={busy} updatedAt={now}
          zone={tz} />
        <FiringCount onOpen={() => goTo('alerts')} />
        <ThemeSwitch theme={theme} setTheme={setTheme} />
        <AccountMenu />
      </header>
      {explore && (
      <aside className="sidebar" id="sidebar">
        <MetricBrowser catalog={catalog} picked={picked} onToggle={togglePick} inputRef={searchRef} />
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
      )}
      {drawer && <button type="button" className="scrim" aria-label="Close the metric list" onClick={() => setDrawer(false)} />}
      {/* Remounted when the time zone changes, so every scale and memoised label is rebuilt in the new one. */}
      <main className="content" key={state.tz}>
        {resolved.errors.map((e) => <ErrorNotice key={e} error={e} title="This link's time range cannot be read" />)}
        {explore && explorePage}
        {state.page === 'dashboards' && !state.dash && <DashboardList open={openDashboard} />}
        {state.page === 'alerts' && !state.dash && <ErrorBoundary><AlertsView reloadKey={reloadKey} /></ErrorBoundary>}
        {state.dash && (
          <ErrorBoundary>
            <DashboardView key={state.dash} id={state.dash} note={arrival} state={state} update={update} metaOf={metaOf} view={view}
              reloadKey={reloadKey} onZoom={zoomTo} tools={<PanControls view={view} showView={showView} />} />
          </ErrorBoundary>
        )}
      </main>
    </div>
  );
}

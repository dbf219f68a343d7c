// Loading, empty and error states, shown in place of (or over) the content they stand for.

/** A thin indeterminate bar across the top of a panel while a request runs. */
export const LoadingBar = ({ active }) => (
  <div className={`loading-bar${active ? ' is-active' : ''}`} role="progressbar" aria-busy={active} aria-hidden={!active} />
);

export const Spinner = ({ label = 'Loading…' }) => (
  <div className="placeholder" role="status">
    <span className="spinner" aria-hidden="true" />
    <span>{label}</span>
  </div>
);

export const Empty = ({ title = 'No data in this range', children }) => (
  <div className="placeholder" role="status">
    <svg width="28" height="28" viewBox="0 0 24 24" aria-hidden="true" className="placeholder-icon">
      <path d="M3 17l5-6 4 3 5-7 4 4" fill="none" stroke="currentColor" strokeWidth="1.6" strokeDasharray="3 3" />
    </svg>
    <strong>{title}</strong>
    {children && <span className="muted">{children}</span>}
  </div>
);

export const ErrorNotice = ({ error, title = 'Request failed' }) => (
  <div className="notice notice-error" role="alert">
    <strong>{title}</strong>
    <span className="error-message">{error?.message || String(error)}</span>
  </div>
);

/** Chooses between error, first load, empty and content for a fetched panel. */
export function Fetched({ state, isEmpty, children }) {
  if (state.error) return <ErrorNotice error={state.error} />;
  if (!state.data) return <Spinner />;
  if (isEmpty(state.data)) return <Empty />;
  return children;
}

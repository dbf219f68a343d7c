// The metric list: search, type badge and unit per metric; arrows move, Enter or Space picks.
import { useEffect, useId, useMemo, useRef, useState } from 'react';
import { urls } from '../api/client.js';
import { rankMetrics } from '../data/rank.js';
import { useDebounced, useFetch } from '../data/useFetch.js';
import { ErrorNotice, LoadingBar } from './Status.jsx';
import { TypeBadge } from './TypeBadge.jsx';

/** A metric name with line-break opportunities after "_", "." and ":", so a long name wraps between words. */
const breakable = (name) => name.split(/(?<=[_.:])/).flatMap((part, i) => (i ? [<wbr key={i} />, part] : [part]));

export function MetricBrowser({ catalog, picked, onToggle, inputRef }) {
  const [text, setText] = useState('');
  const search = useDebounced(text.trim(), 200);
  const found = useFetch(search ? urls.metrics(search) : null);
  const typed = text.trim();
  // Filter the catalog at once while typing; the server's answer replaces it once it matches what was typed.
  const list = useMemo(() => {
    const fresh = search && search === typed && found.data;
    return fresh ? rankMetrics(found.data, typed) : rankMetrics(catalog.data || [], typed, { namesOnly: true });
  }, [search, typed, found.data, catalog.data]);
  const [active, setActive] = useState(0);
  const listRef = useRef(null);
  const id = useId().replace(/[^a-zA-Z0-9]/g, '');
  const state = search && search === typed ? found : catalog;

  useEffect(() => setActive((a) => Math.min(a, Math.max(0, list.length - 1))), [list.length]);
  useEffect(() => setActive(0), [typed]);
  useEffect(() => {
    listRef.current?.querySelector(`[data-index="${active}"]`)?.scrollIntoView?.({ block: 'nearest' });
  }, [active]);

  const onKeyDown = (e) => {
    const n = list.length;
    if (!n) return;
    const moves = { ArrowDown: active + 1, ArrowUp: active - 1, Home: 0, End: n - 1, PageDown: active + 8, PageUp: active - 8 };
    if (e.key in moves) {
      e.preventDefault();
      setActive(Math.min(n - 1, Math.max(0, moves[e.key])));
    } else if (e.key === 'Enter' || (e.key === ' ' && e.currentTarget === listRef.current)) {
      e.preventDefault();
      if (list[active]) onToggle(list[active]);
    }
  };

  return (
    <section className="browser" aria-label="Metrics">
      <div className="search">
        <svg width="14" height="14" viewBox="0 0 16 16" aria-hidden="true" className="search-icon">
          <circle cx="7" cy="7" r="5" fill="none" stroke="currentColor" strokeWidth="1.6" />
          <path d="M11 11l3.5 3.5" stroke="currentColor" strokeWidth="1.6" />
        </svg>
        <input
          ref={inputRef}
          type="search"
          placeholder="Search metrics…"
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={onKeyDown}
          aria-controls={`${id}-list`}
          aria-activedescendant={list[active] ? `${id}-${active}` : undefined}
          aria-label="Search metrics"
        />
      </div>
      <div className="browser-list-wrap">
        <LoadingBar active={state.loading} />
        {state.error && <ErrorNotice error={state.error} />}
        {!state.error && state.data && list.length === 0 && (
          <p className="muted browser-empty">{search ? `No metric matches “${search}”.` : 'No metrics yet. Push some to /api/write.'}</p>
        )}
        <ul
          id={`${id}-list`}
          ref={listRef}
          className="browser-list"
          role="listbox"
          aria-multiselectable="true"
          aria-label="Metrics"
          tabIndex={0}
          onKeyDown={onKeyDown}
          aria-activedescendant={list[active] ? `${id}-${active}` : undefined}
        >
          {list.map((m, i) => {
            const on = picked.has(m.name);
            return (
              <li
                key={m.name}
                id={`${id}-${i}`}
                data-index={i}
                data-metric={m.name}
                role="option"
                aria-selected={on}
                className={`browser-item${i === active ? ' is-active' : ''}${on ? ' is-picked' : ''}`}
                onMouseDown={(e) => e.preventDefault()}
                onClick={() => {
                  setActive(i);
                  onToggle(m);
                }}
                title={m.description || m.name}
              >
                <span className="check" aria-hidden="true">{on ? '✓' : ''}</span>
                <span className="browser-name">{breakable(m.name)}</span>
                {m.unit && <span className="unit">{m.unit}</span>}
                <TypeBadge type={m.type} />
              </li>
            );
          })}
        </ul>
      </div>
    </section>
  );
}

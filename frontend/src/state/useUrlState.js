// React binding of the URL state: read on load and on back/forward, written with pushState.
import { useCallback, useEffect, useState } from 'react';
import { decodeState, encodeState } from './urlState.js';

/** Returns [state, update]; update(patch | fn, {replace}) merges and writes the URL. */
export function useUrlState() {
  const [state, setState] = useState(() => decodeState(window.location.search));

  useEffect(() => {
    const onPop = () => setState(decodeState(window.location.search));
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  const update = useCallback((patch, { replace = false } = {}) => {
    setState((prev) => {
      const next = { ...prev, ...(typeof patch === 'function' ? patch(prev) : patch) };
      const qs = encodeState(next);
      const url = `${window.location.pathname}${qs ? `?${qs}` : ''}`;
      if (url !== `${window.location.pathname}${window.location.search}`) {
        window.history[replace ? 'replaceState' : 'pushState'](null, '', url);
      }
      return next;
    });
  }, []);

  return [state, update];
}

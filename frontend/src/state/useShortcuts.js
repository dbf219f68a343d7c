// Keyboard shortcuts of the page: "/" search, ←/→ pan, +/- zoom, r refresh, Escape closes the metric drawer
// (also from its search field). Other keys typed into a field or pressed with a modifier are left alone.
import { useEffect, useRef } from 'react';

export const SHORTCUTS = [['/', 'search metrics'], ['← →', 'pan'], ['+ −', 'zoom in / out'], ['r', 'refresh']];

const typing = (el) => el && (el.isContentEditable || ['INPUT', 'SELECT', 'TEXTAREA'].includes(el.tagName));

/** handlers: {search, pan(dir), zoom(factor), refresh, close}. */
export function useShortcuts(handlers) {
  const ref = useRef(handlers);
  useEffect(() => {
    ref.current = handlers;
  });
  useEffect(() => {
    const onKey = (e) => {
      if (e.key === 'Escape' && !e.defaultPrevented) {
        ref.current.close?.();
        return;
      }
      if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented || typing(e.target)) return;
      if (e.target.closest?.('[role=tablist],[role=listbox]')) return;
      const h = ref.current;
      const actions = {
        '/': h.search, ArrowLeft: () => h.pan(-1), ArrowRight: () => h.pan(1),
        '+': () => h.zoom(0.5), '=': () => h.zoom(0.5), '-': () => h.zoom(2), r: h.refresh,
      };
      if (!actions[e.key]) return;
      e.preventDefault();
      actions[e.key]();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}

// The colour theme: "system" follows the operating system (prefers-color-scheme), "light" and "dark" override
// it; the choice is kept in localStorage and applied as <html data-theme>, which styles.css reads.
import { useEffect, useState } from 'react';

export const THEMES = ['system', 'light', 'dark'];
const KEY = 'metrics_server.theme';

const stored = () => {
  try {
    return THEMES.includes(localStorage.getItem(KEY)) ? localStorage.getItem(KEY) : 'system';
  } catch {
    return 'system';
  }
};

const apply = (theme) => {
  const root = document.documentElement;
  if (theme === 'system') root.removeAttribute('data-theme');
  else root.setAttribute('data-theme', theme);
};

// Applied as this module loads, before React's first paint: a dark page never flashes light while it loads.
apply(stored());

/** Returns [theme, setTheme]. */
export function useTheme() {
  const [theme, setTheme] = useState(stored);
  useEffect(() => {
    apply(theme);
    try {
      localStorage.setItem(KEY, theme);
    } catch {
      // private mode: the choice lasts for this page only
    }
  }, [theme]);
  return [theme, setTheme];
}

// Shows the dashboard to a signed-in user, the sign-in (or first-admin) form to anyone else, and the settings
// page on demand. Outside this folder: main.jsx wraps <App/> in <AuthGate>, and the app's top bar holds
// <AccountMenu/> (the user's name, Settings, Sign out), so it is on screen at every size (issue 26).
import { createContext, useContext, useEffect, useRef, useState } from 'react';
import { Settings } from './Settings.jsx';
import { SignIn } from './SignIn.jsx';
import { setupCode, signOut, whoAmI } from './session.js';
import './auth.css';

const settingsInUrl = () => new URLSearchParams(window.location.search).get('page') === 'settings';

/** Whether Settings is open, kept in the URL (`?page=settings`: a link, a reload and Back all work). */
function useSettingsPage() {
  const [open, setOpen] = useState(settingsInUrl);
  const pushed = useRef(false);
  useEffect(() => {
    const follow = () => setOpen(settingsInUrl());
    window.addEventListener('popstate', follow);
    return () => window.removeEventListener('popstate', follow);
  }, []);
  const show = (want) => {
    if (want && !settingsInUrl()) {
      window.history.pushState(null, '', '?page=settings');
      pushed.current = true;
    } else if (!want && pushed.current) {
      pushed.current = false;
      window.history.back(); // back to the page Settings was opened from; popstate closes it
      return;
    } else if (!want) window.history.replaceState(null, '', window.location.pathname);
    setOpen(want);
  };
  return [open, show];
}

const Account = createContext(null);

/** The signed-in user's menu, where the page puts it (nothing without auth). */
export const AccountMenu = () => useContext(Account);

function Menu({ who, settings, setSettings, leave }) {
  const ref = useRef(null);
  const go = (f) => () => {
    ref.current.open = false;
    f();
  };
  return (
    <nav className="auth-bar" aria-label="Account">
      <details className="account" ref={ref}>
        <summary className="btn btn-small btn-icon" title={`Signed in as ${who.name}`} aria-label={`Account: ${who.name}`}>
          <svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true">
            <circle cx="8" cy="5.5" r="3" fill="none" stroke="currentColor" strokeWidth="1.5" />
            <path d="M2.5 14.5c.8-3 3-4.5 5.5-4.5s4.7 1.5 5.5 4.5" fill="none" stroke="currentColor" strokeWidth="1.5" />
          </svg>
        </summary>
        <span className="account-menu" role="menu">
          <span className="account-name muted">{who.name}</span>
          <button type="button" role="menuitem" onClick={go(() => setSettings(!settings))}>
            {settings ? 'Dashboard' : 'Settings'}
          </button>
          {who.kind === 'session' && <button type="button" role="menuitem" onClick={go(leave)}>Sign out</button>}
        </span>
      </details>
    </nav>
  );
}

export function AuthGate({ children }) {
  const [who, setWho] = useState(undefined);
  const [error, setError] = useState('');
  const [settings, setSettings] = useSettingsPage();

  useEffect(() => { whoAmI().then(setWho, (err) => setError(err.message)); }, []);

  if (error) return <p className="auth-error" role="alert">Cannot reach the server: {error}</p>;
  // While /api/auth/me is on its way the dashboard already starts (its requests carry the session cookie), so
  // its data does not wait for that round trip; a visitor without a session gets the sign-in form once it answers.
  if (who === null) return <SignIn code={setupCode(window.location.hash)} onSignedIn={(w) => setWho({ kind: 'session', ...w, name: w.username })} />;
  const leave = () => signOut().finally(() => setWho(null));
  const menu = who && who.auth !== false
    ? <Menu who={who} settings={settings} setSettings={setSettings} leave={leave} /> : null;
  return (
    <Account.Provider value={menu}>
      {settings ? who && <Settings who={who} onClose={() => setSettings(false)} account={menu} /> : children}
    </Account.Provider>
  );
}

// Shows the dashboard to a signed-in user, the sign-in (or first-admin) form to anyone else, and the settings
// page on demand. The only change outside this folder is main.jsx wrapping <App/> in <AuthGate>.
import { useEffect, useRef, useState } from 'react';
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
  return (
    <>
      {settings ? who && <Settings who={who} onClose={() => setSettings(false)} /> : children}
      {who && who.auth !== false && (
        <nav className="auth-bar" aria-label="Account">
          <span className="muted">{who.name}</span>
          <button type="button" onClick={() => setSettings(!settings)}>{settings ? 'Dashboard' : 'Settings'}</button>
          {who.kind === 'session' && <button type="button" onClick={leave}>Sign out</button>}
        </nav>
      )}
    </>
  );
}

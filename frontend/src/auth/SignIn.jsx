// The sign-in form, and the first-admin form when the address carries the setup code `make up` printed.
import { useState } from 'react';
import { setUp, signIn } from './session.js';

export function SignIn({ code, onSignedIn }) {
  const [username, setUsername] = useState(code ? 'admin' : '');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const who = code ? await setUp(code, username, password) : await signIn(username, password);
      if (code) window.history.replaceState(null, '', window.location.pathname + window.location.search);
      onSignedIn(who);
    } catch (err) {
      setError(err.message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="auth-page">
      <form className="auth-card" onSubmit={submit} aria-label={code ? 'Create the first admin' : 'Sign in'}>
        <h2>{code ? 'Create the first admin' : 'Sign in to metrics_server'}</h2>
        {code && <p className="muted">Choose the admin&apos;s name and a password of 12 characters or more.</p>}
        <label>
          User name
          <input name="username" autoComplete="username" value={username} required
            onChange={(e) => setUsername(e.target.value)} />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete={code ? 'new-password' : 'current-password'}
            value={password} required minLength={code ? 12 : 1} onChange={(e) => setPassword(e.target.value)} />
        </label>
        {error && <p className="auth-error" role="alert">{error}</p>}
        <button type="submit" className="auth-primary" disabled={busy}>{code ? 'Create and sign in' : 'Sign in'}</button>
      </form>
    </main>
  );
}

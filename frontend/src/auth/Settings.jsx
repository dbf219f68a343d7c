// The settings page: API tokens and users (for admins), and the signed-in user's password.
import { useCallback, useEffect, useState } from 'react';
import { changePassword, tokens, users } from './session.js';

const SCOPES = ['read', 'write', 'delete', 'admin'];

function useList(load) {
  const [items, setItems] = useState([]);
  const [error, setError] = useState('');
  const reload = useCallback(() => load().then(setItems, (err) => setError(err.message)), [load]);
  useEffect(() => { reload(); }, [reload]);
  return [items, reload, error, setError];
}

function ScopePicker({ value, onChange }) {
  return (
    <fieldset className="auth-scopes">
      <legend>Scopes</legend>
      {SCOPES.map((scope) => (
        <label key={scope}>
          <input type="checkbox" checked={value.includes(scope)}
            onChange={(e) => onChange(e.target.checked ? [...value, scope] : value.filter((s) => s !== scope))} />
          {scope}
        </label>
      ))}
    </fieldset>
  );
}

function Tokens() {
  const [list, reload, error, setError] = useList(tokens.list);
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState(['write']);
  const [prefixes, setPrefixes] = useState('');
  const [days, setDays] = useState('');
  const [created, setCreated] = useState(null);

  const create = async (e) => {
    e.preventDefault();
    setError('');
    try {
      const spec = { name, scopes, metric_prefixes: prefixes.split(',').map((p) => p.trim()).filter(Boolean) };
      if (days) spec.expires_in_days = Number(days);
      setCreated(await tokens.create(spec));
      setName('');
      reload();
    } catch (err) {
      setError(err.message);
    }
  };
  const revoke = (id) => tokens.revoke(id).then(() => {
    if (created?.id === id) setCreated(null); // a revoked token's secret is worth nothing: stop showing it
    reload();
  }, (err) => setError(err.message));
  const expired = (t) => t.expires_at && Date.parse(t.expires_at) < Date.now();

  return (
    <section className="auth-section" aria-label="API tokens">
      <h3>API tokens</h3>
      <form className="auth-row" onSubmit={create}>
        <label>Name <input name="token-name" value={name} required onChange={(e) => setName(e.target.value)} /></label>
        <ScopePicker value={scopes} onChange={setScopes} />
        <label>Metric prefixes <input value={prefixes} placeholder="any" onChange={(e) => setPrefixes(e.target.value)} /></label>
        <label>Expires in days <input type="number" min="0" step="any" value={days} placeholder="never"
          onChange={(e) => setDays(e.target.value)} /></label>
        <button type="submit" className="auth-primary">Create token</button>
      </form>
      {created && (
        <p className="auth-created" role="status">
          New token <strong>{created.name}</strong> (shown only now, copy it):{' '}
          <code className="mono" data-token>{created.token}</code>
        </p>
      )}
      {error && <p className="auth-error" role="alert">{error}</p>}
      <div className="auth-table-wrap">
        <table className="auth-table">
          <thead><tr><th>ID</th><th>Name</th><th>Scopes</th><th>Prefixes</th><th>Expires</th><th>Last used</th><th /></tr></thead>
          <tbody>
            {list.map((t) => (
              <tr key={t.id} className={t.revoked_at || expired(t) ? 'is-revoked' : ''}>
                <td className="mono">{t.id}</td>
                <td>{t.name}</td>
                <td>{t.scopes.join(', ')}</td>
                <td>{t.metric_prefixes.join(', ') || 'all'}</td>
                <td>{t.expires_at ? `${t.expires_at}${expired(t) ? ' (expired)' : ''}` : 'never'}</td>
                <td>{t.last_used_at || 'never'}</td>
                <td>{t.revoked_at ? 'revoked' : <button type="button" onClick={() => revoke(t.id)}>Revoke</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function Users() {
  const [list, reload, error, setError] = useList(users.list);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [scopes, setScopes] = useState(['read']);

  const create = async (e) => {
    e.preventDefault();
    setError('');
    try {
      await users.create({ username, password, scopes });
      setUsername('');
      setPassword('');
      reload();
    } catch (err) {
      setError(err.message);
    }
  };
  const remove = (name) => users.remove(name).then(reload, (err) => setError(err.message));

  return (
    <section className="auth-section" aria-label="Users">
      <h3>Users</h3>
      <form className="auth-row" onSubmit={create}>
        <label>User name <input value={username} required onChange={(e) => setUsername(e.target.value)} /></label>
        <label>Password <input type="password" autoComplete="new-password" value={password} required minLength={12}
          onChange={(e) => setPassword(e.target.value)} /></label>
        <ScopePicker value={scopes} onChange={setScopes} />
        <button type="submit" className="auth-primary">Add user</button>
      </form>
      {error && <p className="auth-error" role="alert">{error}</p>}
      <table className="auth-table">
        <thead><tr><th>User</th><th>Scopes</th><th /></tr></thead>
        <tbody>
          {list.map((u) => (
            <tr key={u.username}>
              <td>{u.username}</td>
              <td>{u.scopes.join(', ')}</td>
              <td><button type="button" onClick={() => remove(u.username)}>Delete</button></td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Password() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [message, setMessage] = useState('');
  const submit = async (e) => {
    e.preventDefault();
    try {
      await changePassword(current, next);
      setMessage('Password changed.');
      setCurrent('');
      setNext('');
    } catch (err) {
      setMessage(err.message);
    }
  };
  return (
    <section className="auth-section" aria-label="Your password">
      <h3>Your password</h3>
      <form className="auth-row" onSubmit={submit}>
        <label>Current <input type="password" autoComplete="current-password" value={current} required
          onChange={(e) => setCurrent(e.target.value)} /></label>
        <label>New <input type="password" autoComplete="new-password" value={next} required minLength={12}
          onChange={(e) => setNext(e.target.value)} /></label>
        <button type="submit">Change password</button>
      </form>
      {message && <p role="status">{message}</p>}
    </section>
  );
}

export function Settings({ who, onClose, account }) {
  const admin = who.scopes.includes('admin');
  return (
    <main className="auth-settings">
      <header className="auth-settings-head">
        <h2>Settings</h2>
        <span className="auth-settings-tools">
          <button type="button" onClick={onClose}>Back to the dashboard</button>
          {account}
        </span>
      </header>
      {admin && <Tokens />}
      {admin && <Users />}
      {who.kind === 'session' && <Password />}
      {!admin && who.kind !== 'session' && <p className="muted">Nothing to set for this principal.</p>}
    </main>
  );
}

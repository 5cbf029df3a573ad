/**
 * Staff sign-in: e-mail + password, handed to the host (`auth.signIn`), which keeps the session and the refresh
 * token; the page only learns who signed in. Shown full screen when nobody is known, or as a dialog over the
 * desk when the last operator's local data is open offline.
 */
import { useState, type FormEvent } from 'react';
import type { AuthState, DesktopApi, DesktopError } from '../../../../shared/desktop-api.js';

interface SignInFormProps {
  api: DesktopApi;
  /** shown above the form (e.g. why the last session ended) */
  notice?: string | undefined;
  /** prefill (the last operator) */
  email?: string | undefined;
  onSignedIn?: (state: AuthState) => void;
  onCancel?: () => void;
}

export function SignInForm({ api, notice, email: initialEmail, onSignedIn, onCancel }: SignInFormProps) {
  const [email, setEmail] = useState(initialEmail ?? '');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(undefined);
    api.auth.signIn(email.trim(), password).then(
      (state) => {
        setBusy(false);
        setPassword('');
        onSignedIn?.(state);
      },
      (err: unknown) => {
        setBusy(false);
        setError((err as DesktopError)?.message ?? String(err));
      },
    );
  };
  return (
    <form className="sign-in-form" data-testid="sign-in-form" onSubmit={submit} aria-label="Sign in">
      <h1 className="sign-in-title">Sign in</h1>
      <p className="muted sign-in-sub">Fleetdesk control center — staff accounts only.</p>
      {notice ? <div className="sign-in-notice">{notice}</div> : null}
      <label className="sign-in-field">
        <span>E-mail</span>
        <input
          type="email"
          autoComplete="username"
          required
          autoFocus
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          data-testid="sign-in-email"
        />
      </label>
      <label className="sign-in-field">
        <span>Password</span>
        <input
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          data-testid="sign-in-password"
        />
      </label>
      {error ? (
        <div className="sign-in-error" role="alert" data-testid="sign-in-error">
          {error}
        </div>
      ) : null}
      <div className="sign-in-actions">
        {onCancel ? (
          <button type="button" className="text-button" onClick={onCancel}>
            Keep working offline
          </button>
        ) : null}
        <button type="submit" className="primary-button" disabled={busy} data-testid="sign-in-submit">
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </div>
    </form>
  );
}

export function SignInScreen(props: SignInFormProps) {
  return (
    <div className="sign-in-screen" data-testid="sign-in-screen">
      <div className="sign-in-card">
        <div className="brand sign-in-brand">
          <svg className="brand-mark" viewBox="0 0 24 24" aria-hidden="true">
            <circle cx="12" cy="12" r="10" fill="none" stroke="currentColor" strokeWidth="2" />
            <circle cx="12" cy="12" r="3.5" fill="currentColor" />
            <path d="M12 2v4M12 18v4M2 12h4M18 12h4" stroke="currentColor" strokeWidth="2" />
          </svg>
          <span className="brand-name">Fleetdesk</span>
        </div>
        <SignInForm {...props} />
      </div>
    </div>
  );
}

export function SignInDialog(props: SignInFormProps) {
  return (
    <div className="modal-backdrop" role="dialog" aria-modal="true" data-testid="sign-in-dialog">
      <div className="sign-in-card">
        <SignInForm {...props} />
      </div>
    </div>
  );
}

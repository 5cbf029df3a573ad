/** The signed-in operator and role in the top bar, with sign out (or sign in when working offline signed out). */
import type { OperatorInfo } from '../../../../shared/desktop-api.js';

interface OperatorChipProps {
  operator: OperatorInfo | undefined;
  /** false: the operator's local data is open, but nobody is signed in (offline mode) */
  signedIn: boolean;
  /** the host could not refresh the session (server unreachable) */
  offline: boolean;
  onSignOut: () => void;
  onSignIn: () => void;
}

export function OperatorChip({ operator, signedIn, offline, onSignOut, onSignIn }: OperatorChipProps) {
  if (!operator) return null;
  const state = !signedIn ? 'signed-out' : offline ? 'offline' : 'signed-in';
  return (
    <div
      className={`operator-chip operator-${state}`}
      data-testid="operator-chip"
      data-operator-id={operator.id}
      data-role={operator.role}
      data-state={state}
    >
      <span className="operator-avatar" aria-hidden="true">
        {initials(operator.name)}
      </span>
      <span className="operator-text">
        <span className="operator-name" data-testid="operator-name">
          {operator.name}
        </span>
        <span className="operator-role" data-testid="operator-role">
          {operator.role}
          {state === 'signed-out' ? ' · signed out' : state === 'offline' ? ' · session offline' : ''}
        </span>
      </span>
      {signedIn ? (
        <button type="button" className="text-button" data-testid="sign-out" onClick={onSignOut}>
          Sign out
        </button>
      ) : (
        <button type="button" className="primary-button small" data-testid="open-sign-in" onClick={onSignIn}>
          Sign in
        </button>
      )}
    </div>
  );
}

function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  return ((parts[0]?.[0] ?? '?') + (parts.length > 1 ? (parts.at(-1)?.[0] ?? '') : '')).toUpperCase();
}

/**
 * Staff accounts (admin, `staff.manage`): list, create with an initial password (the server's password rule),
 * change a role, deactivate or reactivate (confirmed; never oneself — the server also refuses removing the last
 * admin), and reset a password (a random one shown once, to hand over). Every change is audited by the server and
 * ends the colleague's sessions where it must; a refusal shows the server's reason.
 */
import { useCallback, useEffect, useState } from 'react';
import { OPERATOR_ROLES, type OperatorRole } from '../../../../shared/operator-role.js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../../../shared/passwords.js';
import { useReplica } from '../../data/hooks';
import { formatDateTime, plural } from '../../lib/format';
import { useConfirm } from '../panels/ConfirmDialog';
import { Field, FieldInput, useFieldProblems } from '../panels/Field';
import '../money/money.css';
import './staff-admin.css';

export interface StaffAccount {
  id: string;
  email: string;
  name: string;
  role: OperatorRole;
  active: boolean;
  createdAt: string;
}

const ROLE_WORDS: Record<OperatorRole, string> = {
  dispatcher: 'Dispatcher',
  support: 'Support',
  admin: 'Admin',
};
const ROLE_HINT: Record<OperatorRole, string> = {
  dispatcher: 'runs the fleet: map, commands, alerts, tasks',
  support: 'serves customers: rentals, refunds, payments, audit',
  admin: 'everything, including the fleet registry and staff accounts',
};

type NewField = 'name' | 'email' | 'password';

export function newAccountProblems(a: { name: string; email: string; password: string }): Record<NewField, string | undefined> {
  return {
    name: a.name.trim() ? (a.name.trim().length > 200 ? 'At most 200 characters.' : undefined) : 'Give the colleague’s name.',
    email:
      /^[^\s@]+@[^\s@]+$/.test(a.email.trim()) && a.email.trim().length <= 254
        ? undefined
        : 'Give an e-mail address like name@company.com.',
    password:
      a.password.length < PASSWORD_MIN_LENGTH
        ? `At least ${PASSWORD_MIN_LENGTH} characters (${a.password.length} now).`
        : a.password.length > PASSWORD_MAX_LENGTH
          ? `At most ${PASSWORD_MAX_LENGTH} characters.`
          : undefined,
  };
}

export function StaffAccounts() {
  const r = useReplica();
  const me = r?.identity.operator.id;
  const [accounts, setAccounts] = useState<StaffAccount[] | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [creating, setCreating] = useState(false);
  const [draft, setDraft] = useState({ name: '', email: '', role: 'dispatcher' as OperatorRole, password: '' });
  const [oneTime, setOneTime] = useState<{ name: string; password: string } | undefined>(undefined);
  const [showInactive, setShowInactive] = useState(true);
  const fields = useFieldProblems<NewField>();
  const [confirm, confirmDialog] = useConfirm();

  const load = useCallback(async () => {
    if (!r) return;
    try {
      setAccounts((await r.staffGet<{ staff: StaffAccount[] }>('/ops/v1/staff')).staff);
    } catch (err) {
      setError(`Could not read the staff accounts: ${message(err)}`);
    }
  }, [r]);
  useEffect(() => {
    void load();
  }, [load]);

  const act = async (what: Promise<unknown>, done: string) => {
    try {
      await what;
      setError(undefined);
      setNotice(done);
    } catch (err) {
      setNotice(undefined);
      setError(message(err));
    }
    await load();
  };
  const patch = (a: StaffAccount, body: Partial<Pick<StaffAccount, 'role' | 'active'>>, done: string) =>
    act(r!.staffRequest('PATCH', `/ops/v1/staff/${encodeURIComponent(a.id)}`, { body }), done);

  const create = async () => {
    if (!r || !fields.check(newAccountProblems(draft))) return;
    try {
      const created = await r.staffPost<StaffAccount>('/ops/v1/staff', {
        name: draft.name.trim(),
        email: draft.email.trim(),
        role: draft.role,
        password: draft.password,
      });
      setNotice(`${created.name} can now sign in as ${ROLE_WORDS[created.role].toLowerCase()} with the password you set.`);
      setError(undefined);
      setDraft({ name: '', email: '', role: 'dispatcher', password: '' });
      setCreating(false);
      await load();
    } catch (err) {
      setError(`The account was not created: ${message(err)}`);
    }
  };

  const resetPassword = (a: StaffAccount) =>
    confirm({
      title: `Reset ${a.name}’s password?`,
      detail: (
        <p>
          {a.name} gets a new random password, shown here once for you to hand over. The old password stops working and {a.name} is signed
          out everywhere.
        </p>
      ),
      confirmLabel: 'Reset password',
      onConfirm: () => {
        void r!.staffPost<{ temporaryPassword: string }>(`/ops/v1/staff/${encodeURIComponent(a.id)}/password-reset`, undefined).then(
          ({ temporaryPassword }) => {
            setOneTime({ name: a.name, password: temporaryPassword });
            setError(undefined);
            setNotice(undefined);
          },
          (err: unknown) => setError(`The password was not reset: ${message(err)}`),
        );
      },
    });

  const changeRole = (a: StaffAccount, role: OperatorRole) =>
    confirm({
      title: `Make ${a.name} ${ROLE_WORDS[role].toLowerCase()}?`,
      detail: (
        <p>
          {a.name} may then {ROLE_HINT[role]}. {a.name} is signed out and signs in again with the new role.
        </p>
      ),
      confirmLabel: `Make ${ROLE_WORDS[role].toLowerCase()}`,
      onConfirm: () => void patch(a, { role }, `${a.name} is now ${ROLE_WORDS[role].toLowerCase()}.`),
    });

  const deactivate = (a: StaffAccount) =>
    confirm({
      title: `Deactivate ${a.name}?`,
      detail: (
        <p>
          {a.name} ({a.email}) can no longer sign in and is signed out everywhere. What {a.name} did stays in the audit. You can reactivate
          the account later.
        </p>
      ),
      confirmLabel: 'Deactivate',
      onConfirm: () => void patch(a, { active: false }, `${a.name} is deactivated.`),
    });

  const shown = (accounts ?? []).filter((a) => showInactive || a.active);
  const activeCount = (accounts ?? []).filter((a) => a.active).length;
  return (
    <div className="replica-panel money-panel staff-admin" data-testid="staff-admin">
      <div className="panel-toolbar">
        <h2 className="money-title">Staff accounts</h2>
        <span className="muted">{accounts ? `${plural(activeCount, 'active account')} of ${accounts.length}` : 'Loading…'}</span>
        <label>
          <input type="checkbox" checked={showInactive} onChange={(e) => setShowInactive(e.target.checked)} /> show deactivated
        </label>
        <span className="toolbar-spacer" />
        {!creating ? (
          <button type="button" className="primary-button small" onClick={() => setCreating(true)} data-testid="staff-new">
            New account
          </button>
        ) : null}
      </div>
      {error ? (
        <div className="ops-error" role="alert" data-testid="staff-error">
          {error}
        </div>
      ) : null}
      {notice ? (
        <div className="staff-notice" data-testid="staff-notice">
          {notice}
        </div>
      ) : null}
      {oneTime ? (
        <div className="staff-one-time" data-testid="staff-one-time">
          <div>
            <strong>New password for {oneTime.name}</strong> — shown only now. Hand it over in person or by phone; it is not stored in clear
            anywhere.
          </div>
          <code data-testid="staff-one-time-password">{oneTime.password}</code>
          <button type="button" className="panel-button" onClick={() => void navigator.clipboard?.writeText(oneTime.password)}>
            Copy
          </button>
          <button type="button" className="panel-button" onClick={() => setOneTime(undefined)}>
            Done
          </button>
        </div>
      ) : null}
      {creating ? (
        <form
          className="office-form staff-form"
          data-testid="staff-form"
          onSubmit={(e) => {
            e.preventDefault();
            void create();
          }}
        >
          <label>
            Name
            <FieldInput
              {...fields.input('name', draft.name, (name) => setDraft((d) => ({ ...d, name })))}
              data-testid="staff-name"
              autoFocus
            />
          </label>
          <label>
            E-mail
            <FieldInput
              {...fields.input('email', draft.email, (email) => setDraft((d) => ({ ...d, email })))}
              type="email"
              data-testid="staff-email"
            />
          </label>
          <label>
            Role
            <Field error={undefined}>
              <select
                value={draft.role}
                onChange={(e) => setDraft((d) => ({ ...d, role: e.target.value as OperatorRole }))}
                data-testid="staff-role"
              >
                {OPERATOR_ROLES.map((role) => (
                  <option key={role} value={role}>
                    {ROLE_WORDS[role]}
                  </option>
                ))}
              </select>
            </Field>
          </label>
          <label>
            Initial password
            <FieldInput
              {...fields.input('password', draft.password, (password) => setDraft((d) => ({ ...d, password })))}
              type="password"
              autoComplete="new-password"
              placeholder={`at least ${PASSWORD_MIN_LENGTH} characters`}
              data-testid="staff-password"
            />
          </label>
          <div className="staff-form-actions">
            <button type="submit" className="primary-button small" data-testid="staff-create">
              Create account
            </button>
            <button
              type="button"
              className="panel-button"
              onClick={() => {
                setCreating(false);
                fields.reset();
              }}
            >
              Cancel
            </button>
          </div>
          <div className="muted staff-form-hint">{ROLE_HINT[draft.role]}</div>
        </form>
      ) : null}
      {accounts && shown.length === 0 ? <div className="panel-empty">No staff account to show.</div> : null}
      {shown.length > 0 ? (
        <table className="replica-table" data-testid="staff-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>E-mail</th>
              <th>Role</th>
              <th>Status</th>
              <th>Since</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {shown.map((a) => {
              const self = a.id === me;
              return (
                <tr key={a.id} data-staff-id={a.id} data-email={a.email} data-role={a.role} data-active={a.active}>
                  <td>
                    {a.name}
                    {self ? <span className="muted"> (you)</span> : null}
                  </td>
                  <td>{a.email}</td>
                  <td>
                    {self || !a.active ? (
                      ROLE_WORDS[a.role]
                    ) : (
                      <select
                        aria-label={`Role of ${a.name}`}
                        value={a.role}
                        onChange={(e) => changeRole(a, e.target.value as OperatorRole)}
                        data-testid="staff-row-role"
                      >
                        {OPERATOR_ROLES.map((role) => (
                          <option key={role} value={role}>
                            {ROLE_WORDS[role]}
                          </option>
                        ))}
                      </select>
                    )}
                  </td>
                  <td>
                    <span className={`pill ${a.active ? 'pill-active' : 'pill-blocked'}`} data-testid="staff-status">
                      {a.active ? 'active' : 'deactivated'}
                    </span>
                  </td>
                  <td>{formatDateTime(Date.parse(a.createdAt))}</td>
                  <td>
                    {self ? (
                      <span className="muted">your own account</span>
                    ) : (
                      <div className="row-actions">
                        {a.active ? (
                          <button type="button" onClick={() => resetPassword(a)} data-testid="staff-reset">
                            Reset password
                          </button>
                        ) : null}
                        {a.active ? (
                          <button type="button" onClick={() => deactivate(a)} data-testid="staff-deactivate">
                            Deactivate
                          </button>
                        ) : (
                          <button
                            type="button"
                            onClick={() => void patch(a, { active: true }, `${a.name} can sign in again.`)}
                            data-testid="staff-reactivate"
                          >
                            Reactivate
                          </button>
                        )}
                      </div>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
      {confirmDialog}
    </div>
  );
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

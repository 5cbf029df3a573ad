/**
 * The audit viewer (support/admin, `audit.read`): who changed what, when and why. Filters by colleague, action,
 * target (type and id) and time range, read page by page from `GET /ops/v1/audit`; each entry shows its before and
 * after as the fields that changed. "Export CSV" downloads every entry the filters leave (`GET /ops/v1/audit.csv`,
 * escaped and formula-safe on the server).
 */
import { CUSTOMER_ACTOR_PREFIX } from '../../../../shared/permissions.js';
import { replicaCustomers } from '../../data/customer-index';
import { whyWords } from '../commands/command-words';
import { useCommandNames } from '../commands/use-command-names';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { useReplica } from '../../data/hooks';
import { formatDateTime, formatWhen, plural } from '../../lib/format';
import { staffNameIn } from '../panels/staff-names';
import { useStaffDirectory } from '../panels/use-staff-directory';
import type { BackOfficeContext } from '../back-office/sections';
import { actionWords, auditDiff } from './audit-diff';
import '../money/money.css';
import './audit-viewer.css';

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  role: string;
  action: string;
  targetType: string;
  targetId: string;
  reason: string | null;
  before: unknown;
  after: unknown;
}

interface Filters {
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  /** datetime-local values ("2026-12-06T08:30"), local time */
  from: string;
  to: string;
}

const EMPTY: Filters = { actor: '', action: '', targetType: '', targetId: '', from: '', to: '' };
const PAGE = 50;
/** the targets the issue names, offered even before the log has one of them */
const TARGET_TYPES = ['vehicle', 'customer', 'rental', 'command', 'staff'];
const TARGET_WORDS: Record<string, string> = {
  vehicle: 'Vehicle',
  customer: 'Customer',
  rental: 'Rental',
  command: 'Command',
  staff: 'Staff account',
};
const DIFF_LINES = 4;

/** The query string of the filters (`beforeId` for a next page); problems in words instead when they do not hold. */
export function auditQuery(f: Filters): { query: string; problem?: undefined } | { problem: string; query?: undefined } {
  const params = new URLSearchParams();
  if (f.actor) params.set('actor', f.actor);
  if (f.action) params.set('action', f.action);
  if (f.targetType) params.set('targetType', f.targetType);
  if (f.targetId.trim()) params.set('targetId', f.targetId.trim());
  const from = f.from ? new Date(f.from).getTime() : undefined;
  const to = f.to ? new Date(f.to).getTime() : undefined;
  if (from !== undefined && !Number.isFinite(from)) return { problem: 'The start of the time range is not a date.' };
  if (to !== undefined && !Number.isFinite(to)) return { problem: 'The end of the time range is not a date.' };
  if (from !== undefined && to !== undefined && from >= to) return { problem: 'The time range must start before it ends.' };
  if (from !== undefined) params.set('from', String(from));
  if (to !== undefined) params.set('to', String(to));
  return { query: params.toString() };
}

export function AuditViewer({ now, plateOf }: BackOfficeContext) {
  const r = useReplica();
  const staff = useStaffDirectory();
  const nameOf = useMemo(() => staffNameIn(staff), [staff]);
  const names = useCommandNames();
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [applied, setApplied] = useState<Filters>(EMPTY);
  const [entries, setEntries] = useState<AuditEntry[] | undefined>(undefined);
  const [next, setNext] = useState<number | null>(null);
  const [error, setError] = useState<string | undefined>(undefined);
  const [loading, setLoading] = useState(false);
  const [exporting, setExporting] = useState(false);
  const [vocabulary, setVocabulary] = useState<{ actions: string[]; targetTypes: string[] }>({ actions: [], targetTypes: [] });
  const [open, setOpen] = useState<ReadonlySet<number>>(new Set());

  useEffect(() => {
    r?.staffGet<{ actions: string[]; targetTypes: string[] }>('/ops/v1/audit/vocabulary').then(setVocabulary, () => undefined);
  }, [r]);

  const read = useCallback(
    async (filters: Filters, beforeId: number | null) => {
      if (!r) return;
      const q = auditQuery(filters);
      if (q.problem !== undefined) {
        setError(q.problem);
        return;
      }
      setLoading(true);
      try {
        const page = await r.staffGet<{ entries: AuditEntry[]; nextBeforeId: number | null }>(
          `/ops/v1/audit?${q.query}${q.query ? '&' : ''}limit=${PAGE}${beforeId ? `&beforeId=${beforeId}` : ''}`,
        );
        setEntries((prev) => (beforeId ? [...(prev ?? []), ...page.entries] : page.entries));
        setNext(page.nextBeforeId);
        setError(undefined);
      } catch (err) {
        setError(err instanceof Error ? err.message : String(err));
      } finally {
        setLoading(false);
      }
    },
    [r],
  );
  useEffect(() => {
    void read(EMPTY, null);
  }, [read]);

  const exportCsv = async () => {
    if (!r) return;
    const q = auditQuery(applied);
    if (q.problem !== undefined) return setError(q.problem);
    setExporting(true);
    try {
      const blob = await r.staffRequest<Blob>('GET', `/ops/v1/audit.csv${q.query ? `?${q.query}` : ''}`, { as: 'blob' });
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = `fleetdesk-audit-${new Date().toISOString().slice(0, 16).replace(/[:T]/g, '-')}.csv`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setError(undefined);
    } catch (err) {
      setError(`The export failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      setExporting(false);
    }
  };

  const set = (k: keyof Filters) => (v: string) => setDraft((d) => ({ ...d, [k]: v }));
  const actorOptions = useMemo(() => {
    const ids = new Set(staff.map((s) => s.id));
    return [
      ...staff.map((s) => ({ id: s.id, label: s.active ? s.name : `${s.name} (deactivated)` })),
      ...(ids.has('system') ? [] : [{ id: 'system', label: 'The server (system)' }]),
    ];
  }, [staff]);
  const areas = [...new Set(vocabulary.actions.map((a) => a.split('.')[0]!))];
  const targetTypes = [...new Set([...TARGET_TYPES, ...vocabulary.targetTypes])];
  const filtered = JSON.stringify(applied) !== JSON.stringify(EMPTY);

  const targetLabel = (e: AuditEntry) =>
    e.targetType === 'vehicle' ? plateOf(e.targetId) : e.targetType === 'staff' ? nameOf(e.targetId) : e.targetId;
  const customerName = (id: string) => replicaCustomers.get(id)?.name ?? 'a customer';
  const actorLabel = (e: AuditEntry) =>
    e.role === 'device'
      ? `${plateOf(e.actor)} (device)`
      : e.actor.startsWith(CUSTOMER_ACTOR_PREFIX)
        ? customerName(e.actor.slice(CUSTOMER_ACTOR_PREFIX.length))
        : e.role === 'customer'
          ? customerName(e.actor)
          : nameOf(e.actor);
  // the server's own reasons on a rental's commands, in words (no ids); a person's reason as written
  const why = (e: AuditEntry) => (e.targetType === 'command' && e.reason ? whyWords(e.reason, names) : e.reason);

  return (
    <div className="replica-panel money-panel audit-viewer" data-testid="audit-viewer">
      <div className="panel-toolbar">
        <h2 className="money-title">Audit</h2>
        <span className="muted">Who changed what, when and why.</span>
        <span className="toolbar-spacer" />
        <button type="button" className="panel-button" onClick={() => void exportCsv()} disabled={exporting} data-testid="audit-export">
          {exporting ? 'Exporting…' : filtered ? 'Export these as CSV' : 'Export all as CSV'}
        </button>
      </div>
      <form
        className="office-form audit-filters"
        data-testid="audit-filters"
        onSubmit={(e) => {
          e.preventDefault();
          if (auditQuery(draft).problem === undefined) setApplied(draft);
          setOpen(new Set());
          void read(draft, null);
        }}
      >
        <label>
          Who
          <select value={draft.actor} onChange={(e) => set('actor')(e.target.value)} data-testid="audit-actor">
            <option value="">Anyone</option>
            {actorOptions.map((o) => (
              <option key={o.id} value={o.id}>
                {o.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          What
          <select value={draft.action} onChange={(e) => set('action')(e.target.value)} data-testid="audit-action">
            <option value="">Any action</option>
            {areas.map((area) => (
              <optgroup key={area} label={actionWords(area)}>
                <option value={`${area}.*`}>Every {area} action</option>
                {vocabulary.actions
                  .filter((a) => a.startsWith(`${area}.`))
                  .map((a) => (
                    <option key={a} value={a}>
                      {actionWords(a)}
                    </option>
                  ))}
              </optgroup>
            ))}
          </select>
        </label>
        <label>
          Target
          <select value={draft.targetType} onChange={(e) => set('targetType')(e.target.value)} data-testid="audit-target-type">
            <option value="">Anything</option>
            {targetTypes.map((t) => (
              <option key={t} value={t}>
                {TARGET_WORDS[t] ?? t}
              </option>
            ))}
          </select>
        </label>
        <label>
          Id
          <input
            value={draft.targetId}
            onChange={(e) => set('targetId')(e.target.value)}
            placeholder="e.g. a rental id"
            maxLength={200}
            data-testid="audit-target-id"
          />
        </label>
        <label>
          From
          <input type="datetime-local" value={draft.from} onChange={(e) => set('from')(e.target.value)} data-testid="audit-from" />
        </label>
        <label>
          To
          <input type="datetime-local" value={draft.to} onChange={(e) => set('to')(e.target.value)} data-testid="audit-to" />
        </label>
        <div className="audit-filter-actions">
          <button type="submit" className="primary-button small" data-testid="audit-apply">
            Show
          </button>
          <button
            type="button"
            className="panel-button"
            onClick={() => {
              setDraft(EMPTY);
              setApplied(EMPTY);
              void read(EMPTY, null);
            }}
          >
            Clear
          </button>
        </div>
      </form>
      {error ? (
        <div className="ops-error" data-testid="audit-error">
          {error}
        </div>
      ) : null}
      {entries && entries.length === 0 ? (
        <div className="panel-empty" data-testid="audit-empty">
          {filtered ? 'No entry matches these filters.' : 'Nothing has been audited yet.'}
        </div>
      ) : null}
      {entries && entries.length > 0 ? (
        <>
          <table className="replica-table audit-table" data-testid="audit-entries" data-count={entries.length}>
            <thead>
              <tr>
                <th>When</th>
                <th>Who</th>
                <th>What</th>
                <th>Target</th>
                <th>Why</th>
                <th>Changes</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => {
                const changes = auditDiff(e.before, e.after);
                const expanded = open.has(e.id);
                const shown = expanded ? changes : changes.slice(0, DIFF_LINES);
                return (
                  <tr key={e.id} data-audit-id={e.id} data-action={e.action}>
                    <td title={formatDateTime(e.at)}>{formatWhen(e.at, now)}</td>
                    <td className="audit-who cell-wrap">
                      <div>{actorLabel(e)}</div>
                      <div className="muted">{e.role}</div>
                    </td>
                    <td>{actionWords(e.action)}</td>
                    <td>
                      <div className="muted">{TARGET_WORDS[e.targetType] ?? e.targetType}</div>
                      <div className="mono audit-target" title={e.targetId}>
                        {targetLabel(e)}
                      </div>
                    </td>
                    <td className="audit-reason cell-wrap">{why(e) ?? <span className="muted">—</span>}</td>
                    <td className="audit-changes cell-wrap" data-testid="audit-diff">
                      {changes.length === 0 ? <span className="muted">no field changed</span> : null}
                      {shown.map((c) => (
                        <div key={c.field} className="audit-change">
                          <span className="audit-field">{c.field}</span> {c.before !== undefined ? <del>{c.before}</del> : null}
                          {c.before !== undefined && c.after !== undefined ? ' → ' : null}
                          {c.after !== undefined ? <ins>{c.after}</ins> : null}
                        </div>
                      ))}
                      {changes.length > DIFF_LINES ? (
                        <button
                          type="button"
                          className="text-button"
                          onClick={() =>
                            setOpen((prev) => {
                              const n = new Set(prev);
                              if (!n.delete(e.id)) n.add(e.id);
                              return n;
                            })
                          }
                        >
                          {expanded ? 'Show fewer' : `${plural(changes.length - DIFF_LINES, 'more field')}`}
                        </button>
                      ) : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <div className="audit-more">
            <span className="muted" data-testid="audit-shown">
              {plural(entries.length, 'entry', 'entries')} shown{next === null ? ' — that is all' : ''}
            </span>
            {next !== null ? (
              <button
                type="button"
                className="panel-button"
                disabled={loading}
                onClick={() => void read(applied, next)}
                data-testid="audit-more"
              >
                {loading ? 'Loading…' : `Show ${PAGE} more`}
              </button>
            ) : null}
          </div>
        </>
      ) : null}
    </div>
  );
}

/**
 * Payments needing attention (support/admin): the captures, releases and refunds the payment outbox gave up on,
 * with their attempts, the provider's last error in plain words, the customer and rental, and the amount. Retry
 * one or several with a reason (`POST /ops/v1/payments/operations/{id}/retry`, `payment.retry`): the server puts
 * the same operation back into the outbox under its own idempotency key, so a retry can never charge twice. A
 * retried row stays on screen and follows the operation live (queued → sending → settled, or failed again).
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { CustomerDoc } from '../../../../shared/sync-protocol.js';
import { useLiveQuery, useReplica } from '../../data/hooks';
import { formatMoney, formatWhen, plural } from '../../lib/format';
import { reasonProblem } from '../../lib/validation';
import { CustomerDetail } from '../customers/CustomerDetail';
import { FieldInput, useFieldProblems } from '../panels/Field';
import type { BackOfficeContext } from '../back-office/sections';
import { KIND_WORDS, providerErrorWords, STATUS_WORDS, type OperationKind, type OperationStatus } from './money-words';
import './money.css';

export interface StaffOperation {
  operationId: string;
  paymentId: string;
  rentalId: string;
  customerId: string;
  kind: OperationKind;
  amountCents: number;
  currency: string;
  status: OperationStatus;
  attempts: number;
  retries: number;
  lastError: string | null;
  reason: string | null;
  createdAt: string;
  completedAt: string | null;
}

/** how often the failed list is read again; a retried row is followed faster */
const LIST_EVERY_MS = 15_000;
const FOLLOW_EVERY_MS = 1_000;
const OPEN: readonly OperationStatus[] = ['pending', 'in_flight'];

export function PaymentsAttention({ now, plateOf, selectVehicle }: BackOfficeContext) {
  const r = useReplica();
  const [failed, setFailed] = useState<StaffOperation[] | undefined>(undefined);
  /** rows retried from this desk, by id, as last read (they leave the failed list while they run) */
  const [followed, setFollowed] = useState<ReadonlyMap<string, StaffOperation>>(new Map());
  const [loadError, setLoadError] = useState<string | undefined>(undefined);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [retrying, setRetrying] = useState<string[] | undefined>(undefined);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [refusals, setRefusals] = useState<ReadonlyMap<string, string>>(new Map());
  const [customerId, setCustomerId] = useState<string | undefined>(undefined);
  const fields = useFieldProblems<'reason'>();
  const mayRetry = r?.actions.can('payment.retry') ?? false;

  const load = useCallback(async () => {
    if (!r) return;
    try {
      const { operations } = await r.staffGet<{ operations: StaffOperation[] }>('/ops/v1/payments/operations?status=failed&limit=200');
      setFailed(operations.filter((o) => o.kind !== 'authorize'));
      setLoadError(undefined);
    } catch (err) {
      setLoadError(err instanceof Error ? err.message : String(err));
    }
  }, [r]);
  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), LIST_EVERY_MS);
    return () => clearInterval(timer);
  }, [load]);

  // Follow the retried rows until they settle or fail again.
  const followedRef = useRef(followed);
  followedRef.current = followed;
  useEffect(() => {
    if (!r) return;
    const timer = setInterval(() => {
      const open = [...followedRef.current.values()].filter((o) => OPEN.includes(o.status));
      for (const o of open) {
        r.staffGet<StaffOperation>(`/ops/v1/payments/operations/${encodeURIComponent(o.operationId)}`).then(
          (fresh) => setFollowed((prev) => new Map(prev).set(fresh.operationId, fresh)),
          () => undefined, // offline for a moment: the next tick asks again
        );
      }
    }, FOLLOW_EVERY_MS);
    return () => clearInterval(timer);
  }, [r]);

  const rows = useMemo(() => {
    const byId = new Map<string, StaffOperation>();
    for (const o of failed ?? []) byId.set(o.operationId, o);
    // what this desk retried wins over the (older) list read
    for (const o of followed.values()) byId.set(o.operationId, o);
    return [...byId.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt) * -1);
  }, [failed, followed]);

  const customerIds = useMemo(() => [...new Set(rows.map((o) => o.customerId))], [rows]);
  const customers = useLiveQuery<CustomerDoc>(r?.db.customers, { selector: { id: { $in: customerIds } } }, customerIds.join(','));
  const customerName = (id: string) => customers.find((c) => c.id === id)?.name ?? 'Customer';

  const retryable = rows.filter((o) => o.status === 'failed');
  const chosen = retryable.filter((o) => selected.has(o.operationId));

  const submitRetry = async (ids: readonly string[]) => {
    if (!r || !fields.check({ reason: reasonProblem(reason) })) return;
    setBusy(true);
    const refused = new Map<string, string>();
    await Promise.all(
      ids.map(async (id) => {
        try {
          const { operation } = await r.staffPost<{ operation: StaffOperation; retried: boolean }>(
            `/ops/v1/payments/operations/${encodeURIComponent(id)}/retry`,
            { reason: reason.trim() },
          );
          setFollowed((prev) => new Map(prev).set(operation.operationId, operation));
        } catch (err) {
          refused.set(id, err instanceof Error ? err.message : String(err));
        }
      }),
    );
    setRefusals(refused);
    setBusy(false);
    setSelected(new Set());
    setRetrying(undefined);
    setReason('');
    void load();
  };

  if (customerId) {
    return (
      <div className="money-detail" data-testid="money-customer">
        <div className="panel-toolbar">
          <button type="button" className="text-button" onClick={() => setCustomerId(undefined)} data-testid="money-back">
            ← Back to payments
          </button>
        </div>
        <CustomerDetail customerId={customerId} now={now} plateOf={plateOf} onSelectVehicle={selectVehicle} />
      </div>
    );
  }

  const retryingRows = rows.filter((o) => retrying?.includes(o.operationId));
  return (
    <div className="replica-panel money-panel" data-testid="payments-attention" data-count={retryable.length}>
      <div className="panel-toolbar">
        <h2 className="money-title">Payments needing attention</h2>
        <span className="muted" data-testid="payments-count">
          {failed === undefined
            ? 'Loading…'
            : retryable.length === 0
              ? 'Nothing failed'
              : `${plural(retryable.length, 'failed operation')}`}
        </span>
        <span className="toolbar-spacer" />
        {mayRetry && retryable.length > 0 ? (
          <button
            type="button"
            className="panel-button"
            disabled={chosen.length === 0}
            data-testid="retry-selected"
            onClick={() => setRetrying(chosen.map((o) => o.operationId))}
          >
            Retry selected{chosen.length ? ` (${chosen.length})` : ''}
          </button>
        ) : null}
        <button type="button" className="panel-button" onClick={() => void load()} data-testid="payments-refresh">
          Refresh
        </button>
      </div>
      {loadError ? <div className="ops-error">Could not read the payment operations: {loadError}</div> : null}
      {retrying && retryingRows.length > 0 ? (
        <form
          className="office-form money-retry-form"
          data-testid="retry-form"
          onSubmit={(e) => {
            e.preventDefault();
            void submitRetry(retrying);
          }}
        >
          <div>
            <strong>Retry {retryingRows.length === 1 ? retryLabel(retryingRows[0]!) : plural(retryingRows.length, 'operation')}</strong>
            <div className="muted">The provider is asked again with the same request key: whatever it already did is not done twice.</div>
          </div>
          <FieldInput
            {...fields.input('reason', reason, setReason)}
            placeholder="Why retry now? (recorded in the audit)"
            aria-label="Reason for the retry"
            data-testid="retry-reason"
            fieldClassName="money-reason"
            autoFocus
          />
          <button type="submit" className="primary-button small" disabled={busy} data-testid="retry-confirm">
            {busy ? 'Retrying…' : 'Retry'}
          </button>
          <button type="button" className="panel-button" onClick={() => setRetrying(undefined)}>
            Cancel
          </button>
        </form>
      ) : null}
      {failed !== undefined && rows.length === 0 && !loadError ? (
        <div className="panel-empty" data-testid="payments-empty">
          No payment operation has failed. Captures, releases and refunds the provider could not complete show up here.
        </div>
      ) : null}
      {rows.length > 0 ? (
        <table className="replica-table money-table">
          <thead>
            <tr>
              {mayRetry ? (
                <th className="cell-check">
                  {retryable.length > 0 ? (
                    <input
                      type="checkbox"
                      aria-label="Select every failed operation"
                      checked={chosen.length === retryable.length}
                      onChange={(e) => setSelected(new Set(e.target.checked ? retryable.map((o) => o.operationId) : []))}
                    />
                  ) : null}
                </th>
              ) : null}
              <th>What</th>
              <th className="cell-amount">Amount</th>
              <th>Customer · rental</th>
              <th>Attempts</th>
              <th>Last provider error</th>
              <th>Status</th>
              {mayRetry ? <th /> : null}
            </tr>
          </thead>
          <tbody>
            {rows.map((o) => (
              <tr key={o.operationId} data-operation-id={o.operationId} data-status={o.status}>
                {mayRetry ? (
                  <td className="cell-check">
                    {o.status === 'failed' ? (
                      <input
                        type="checkbox"
                        aria-label={`Select ${retryLabel(o)}`}
                        checked={selected.has(o.operationId)}
                        onChange={(e) =>
                          setSelected((prev) => {
                            const next = new Set(prev);
                            if (e.target.checked) next.add(o.operationId);
                            else next.delete(o.operationId);
                            return next;
                          })
                        }
                      />
                    ) : null}
                  </td>
                ) : null}
                <td>
                  <div>{KIND_WORDS[o.kind]}</div>
                  <div className="muted">since {formatWhen(Date.parse(o.createdAt), now)}</div>
                </td>
                <td className="cell-amount">{formatMoney(o.amountCents, o.currency)}</td>
                <td>
                  <button
                    type="button"
                    className="link-button money-link"
                    onClick={() => setCustomerId(o.customerId)}
                    data-testid="money-customer-link"
                  >
                    {customerName(o.customerId)}
                  </button>
                  <div className="muted mono" title="Rental">
                    rental {shortId(o.rentalId)}
                  </div>
                </td>
                <td>
                  {plural(o.attempts, 'attempt')}
                  {o.retries > 0 ? <div className="muted">retried {o.retries}×</div> : null}
                </td>
                <td className="money-error" data-testid="operation-error">
                  {o.status === 'succeeded' ? <span className="muted">—</span> : (providerErrorWords(o.lastError) ?? '—')}
                  {refusals.get(o.operationId) ? (
                    <div className="ops-error" data-testid="retry-refused">
                      Retry refused: {refusals.get(o.operationId)}
                    </div>
                  ) : null}
                </td>
                <td>
                  <span className={`pill money-status-${o.status}`} data-testid="operation-status">
                    {STATUS_WORDS[o.status]}
                  </span>
                </td>
                {mayRetry ? (
                  <td>
                    {o.status === 'failed' ? (
                      <div className="row-actions">
                        <button type="button" data-testid="retry-one" onClick={() => setRetrying([o.operationId])}>
                          Retry
                        </button>
                      </div>
                    ) : null}
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}

const retryLabel = (o: StaffOperation) => `${KIND_WORDS[o.kind].toLowerCase()} of ${formatMoney(o.amountCents, o.currency)}`;

/** the readable end of a generated id (`rental-3f2a…` → `…3f2a9c`) */
export const shortId = (id: string) => (id.length > 14 ? `…${id.slice(-8)}` : id);

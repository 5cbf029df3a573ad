/**
 * Reconciliation (admin, `payment.reconcile`): compare our ledger with the payment provider's now
 * (`POST /ops/v1/payments/reconciliation`) and show each mismatch with both sides — what we recorded and what the
 * provider holds — amounts as money. Payments with an operation still under way are counted, not judged.
 */
import { useState } from 'react';
import { useReplica } from '../../data/hooks';
import { formatDateTime, formatDuration, formatMoney, plural } from '../../lib/format';
import { mismatchWords } from './money-words';
import { shortId } from './PaymentsAttention';
import './money.css';

interface OurSide {
  status: string;
  providerRef: string | null;
  heldCents: number;
  capturedCents: number;
  refundedCents: number;
  currency: string;
}
interface ProviderSide {
  id: string;
  status: string;
  amountCents: number;
  capturedCents: number;
  refundedCents: number;
  captures: number;
  refunds: number;
}
interface Report {
  checked: number;
  inProgress: number;
  providerHolds: number;
  mismatches: Array<{ paymentId: string; problem: string; ours: OurSide | null; provider: ProviderSide[] }>;
  startedAt: string;
  finishedAt: string;
}

/** Our payment statuses in words (the provider's hold statuses are plain words already). */
const OUR_STATUS: Record<string, string> = {
  authorizing: 'hold being placed',
  authorized: 'held',
  declined: 'declined',
  capture_pending: 'charge queued',
  captured: 'charged',
  void_pending: 'release queued',
  voided: 'released',
  failed: 'an operation failed',
};

export function Reconciliation() {
  const r = useReplica();
  const [report, setReport] = useState<Report | undefined>(undefined);
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const run = async () => {
    if (!r) return;
    setRunning(true);
    setError(undefined);
    try {
      setReport(await r.staffPost<Report>('/ops/v1/payments/reconciliation', {}));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setRunning(false);
    }
  };
  const currency = (m: Report['mismatches'][number]) => m.ours?.currency ?? 'EUR';
  return (
    <div className="replica-panel money-panel" data-testid="reconciliation">
      <div className="panel-toolbar">
        <h2 className="money-title">Reconciliation</h2>
        <span className="muted">Our payments against the payment provider’s ledger, compared now.</span>
        <span className="toolbar-spacer" />
        <button
          type="button"
          className="primary-button small"
          disabled={running}
          onClick={() => void run()}
          data-testid="run-reconciliation"
        >
          {running ? 'Comparing…' : report ? 'Run again' : 'Run reconciliation'}
        </button>
      </div>
      {error ? <div className="ops-error">Reconciliation could not run: {error}</div> : null}
      {!report && !error ? (
        <div className="panel-empty">
          Not run yet from this desk. It reads the provider’s whole ledger, so it may take a moment with many payments.
        </div>
      ) : null}
      {report ? (
        <>
          <p className="money-summary" data-testid="reconciliation-summary" data-mismatches={report.mismatches.length}>
            {report.mismatches.length === 0 ? (
              <strong className="money-ok">Both ledgers agree.</strong>
            ) : (
              <strong className="money-bad">{plural(report.mismatches.length, 'mismatch', 'mismatches')}</strong>
            )}{' '}
            {plural(report.checked, 'payment')} checked, {plural(report.providerHolds, 'hold')} at the provider
            {report.inProgress > 0 ? `, ${plural(report.inProgress, 'payment')} still in progress (not judged)` : ''} · run at{' '}
            {formatDateTime(Date.parse(report.startedAt))}, took {tookWords(report)}
          </p>
          {report.mismatches.length > 0 ? (
            <table className="replica-table money-table" data-testid="mismatches">
              <thead>
                <tr>
                  <th>Payment</th>
                  <th>Problem</th>
                  <th>Ours</th>
                  <th>The provider’s</th>
                </tr>
              </thead>
              <tbody>
                {report.mismatches.map((m) => (
                  <tr key={`${m.paymentId}-${m.problem}`} data-payment-id={m.paymentId} data-problem={m.problem}>
                    <td className="mono">{shortId(m.paymentId)}</td>
                    <td className="money-error">{mismatchWords(m.problem)}</td>
                    <td className="money-side" data-testid="ours">
                      {m.ours ? (
                        <>
                          <div>{OUR_STATUS[m.ours.status] ?? m.ours.status}</div>
                          <div className="muted">
                            held {formatMoney(m.ours.heldCents, m.ours.currency)} · charged{' '}
                            {formatMoney(m.ours.capturedCents, m.ours.currency)} · refunded{' '}
                            {formatMoney(m.ours.refundedCents, m.ours.currency)}
                          </div>
                        </>
                      ) : (
                        <span className="muted">No payment of ours</span>
                      )}
                    </td>
                    <td className="money-side" data-testid="theirs">
                      {m.provider.length === 0 ? <span className="muted">Nothing at the provider</span> : null}
                      {m.provider.map((h) => (
                        <div key={h.id}>
                          <div>
                            hold {shortId(h.id)}: {h.status}
                          </div>
                          <div className="muted">
                            held {formatMoney(h.amountCents, currency(m))} · charged {formatMoney(h.capturedCents, currency(m))}
                            {h.captures > 1 ? ` in ${h.captures} charges` : ''} · refunded {formatMoney(h.refundedCents, currency(m))}
                          </div>
                        </div>
                      ))}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </>
      ) : null}
    </div>
  );
}

function tookWords(report: Report): string {
  const ms = Date.parse(report.finishedAt) - Date.parse(report.startedAt);
  return ms < 60_000 ? `${Math.max(0.1, Math.round(ms / 100) / 10)} s` : formatDuration(ms);
}

/**
 * Customer 360 from the replica (offline too): profile, licence, block/unblock with a reason, rentals with their
 * receipts and the support actions (end on behalf, refund, extend or cancel a booking), notes. Actions are `requests` (executed once by the
 * server, never after their expiry): their outcome shows under "Requests" as it replicates back. Rentals closed more than
 * the server's history horizon ago are not in the replica: it says so, and reads them from the server on demand.
 */
import { useState } from 'react';
import type { CustomerDoc, NoteDoc, RentalDoc, RequestDoc } from '../../../../shared/sync-protocol.js';
import { useLiveQuery, useReplica } from '../../data/hooks';
import { useStaffNames } from '../panels/staff-names';
import { formatAgo, formatDateTime } from '../../lib/format';
import { noteProblem, reasonProblem } from '../../lib/validation';
import { useConfirm } from '../panels/ConfirmDialog';
import { FieldInput, useFieldProblems } from '../panels/Field';
import { FailedStarts } from './FailedStarts';
import { RentalCard } from './RentalCard';
import { RequestOutcome } from './RequestOutcome';
import { OlderHistory } from '../panels/OlderHistory';

interface CustomerDetailProps {
  customerId: string;
  now: number;
  plateOf: (vehicleId: string) => string;
  onSelectVehicle: (vehicleId: string) => void;
}

export function CustomerDetail({ customerId, now, plateOf, onSelectVehicle }: CustomerDetailProps) {
  const r = useReplica();
  const [confirm, confirmDialog] = useConfirm();
  const [customer] = useLiveQuery<CustomerDoc>(r?.db.customers, { selector: { id: customerId } }, customerId);
  const rentals = useLiveQuery<RentalDoc>(
    r?.db.rentals,
    { selector: { customerId }, sort: [{ startsAt: 'desc' }], limit: 100 },
    customerId,
  );
  const notes = useLiveQuery<NoteDoc>(
    r?.db.notes,
    { selector: { targetType: 'customer', targetId: customerId }, sort: [{ createdAt: 'desc' }], limit: 50 },
    customerId,
  );
  const recent = useLiveQuery<RequestDoc>(r?.db.requests, { sort: [{ createdAt: 'desc' }], limit: 300 }, 'recent-requests');
  const rentalIds = new Set(rentals.map((x) => x.id));
  const requests = recent
    .filter((q) => q.payload.customerId === customerId || rentalIds.has(String(q.payload.rentalId ?? q.payload.bookingId)))
    .slice(0, 10);
  const [blockReason, setBlockReason] = useState('');
  const [note, setNote] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const fields = useFieldProblems<'blockReason' | 'note'>();
  const staffName = useStaffNames();
  if (!r) return <div className="panel-empty">Local replica not open yet…</div>;
  if (!customer) return <div className="panel-empty">This customer is not in the local replica.</div>;
  const act = (p: Promise<unknown>, then?: () => void) =>
    void p.then(
      () => {
        setError(undefined);
        then?.();
      },
      (err: unknown) => setError(err instanceof Error ? err.message : String(err)),
    );
  const blocked = customer.status === 'blocked';
  const pendingBlock = requests.find((q) => (q.kind === 'block_customer' || q.kind === 'unblock_customer') && q.status === 'pending');
  return (
    <div className="customer-detail" data-testid="customer-detail" data-customer-id={customer.id} data-status={customer.status}>
      <header className="customer-head">
        <div>
          <h2 className="customer-name">{customer.name}</h2>
          <div className="muted">
            {customer.email} · {customer.phone} · customer since {formatDateTime(customer.createdAt)}
          </div>
        </div>
        <span className={`pill ${blocked ? 'pill-blocked' : 'pill-active'}`} data-testid="customer-status">
          {customer.status}
        </span>
      </header>
      <dl className="customer-facts">
        <div>
          <dt>Licence</dt>
          <dd data-testid="customer-licence">
            <span className={`pill pill-licence-${customer.licenceStatus}`}>{customer.licenceStatus}</span> {customer.licenceNumber ?? '—'}
            {customer.licenceCountry ? ` (${customer.licenceCountry})` : ''}
            {customer.licenceExpiresOn ? ` · expires ${customer.licenceExpiresOn}` : ''}
          </dd>
        </div>
        {blocked ? (
          <div>
            <dt>Blocked</dt>
            <dd>
              {customer.blockedReason ?? 'no reason recorded'}
              {customer.blockedAt ? <span className="muted"> · {formatAgo(customer.blockedAt, now)}</span> : null}
            </dd>
          </div>
        ) : null}
        <div>
          <dt>Id</dt>
          <dd className="muted">{customer.id}</dd>
        </div>
      </dl>

      <form
        className="ops-row customer-block-form"
        data-testid="block-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (!fields.check({ blockReason: reasonProblem(blockReason) })) return;
          const send = () => act(r.actions.requestCustomerBlock(customer.id, !blocked, blockReason), () => setBlockReason(''));
          if (blocked) return send();
          confirm({
            title: `Block ${customer.name}?`,
            detail: (
              <>
                <p>
                  {customer.name} can no longer reserve, book or start a rental until someone unblocks them. A rental already running is not
                  ended.
                </p>
                <p>Reason: {blockReason.trim()}</p>
              </>
            ),
            confirmLabel: 'Block customer',
            onConfirm: send,
          });
        }}
      >
        <FieldInput
          {...fields.input('blockReason', blockReason, setBlockReason)}
          placeholder={blocked ? 'Reason to unblock (required)' : 'Reason to block (required)'}
          aria-label="Block reason"
          data-testid="block-reason"
        />
        <button type="submit" className={blocked ? '' : 'danger-button'} disabled={!!pendingBlock} data-testid="block-submit">
          {blocked ? 'Unblock' : 'Block'}
        </button>
      </form>

      {requests.length ? (
        <section>
          <h3 className="section-title">Requests</h3>
          <ul className="ops-list" data-testid="customer-requests">
            {requests.map((q) => (
              <RequestOutcome key={q.id} request={q} now={now} />
            ))}
          </ul>
        </section>
      ) : null}

      <FailedStarts customerId={customer.id} now={now} plateOf={plateOf} />

      <section>
        <h3 className="section-title">
          Rentals <span className="muted">({rentals.length})</span>
        </h3>
        {rentals.length === 0 ? <div className="muted">No reservations, bookings or rentals.</div> : null}
        <div className="rental-list" data-testid="customer-rentals">
          {rentals.map((x) => (
            <RentalCard
              key={x.id}
              rental={x}
              now={now}
              plateOf={plateOf}
              onSelectVehicle={onSelectVehicle}
              requests={recent.filter((q) => (q.payload.rentalId ?? q.payload.bookingId) === x.id)}
            />
          ))}
        </div>
        <OlderHistory of={{ customerId: customer.id }} held={rentalIds} plateOf={plateOf} now={now} />
      </section>

      <section>
        <h3 className="section-title">Notes</h3>
        <form
          className="ops-row"
          data-testid="customer-note-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (!fields.check({ note: noteProblem(note) })) return;
            act(r.actions.addNote('customer', customer.id, note), () => setNote(''));
          }}
        >
          <FieldInput
            {...fields.input('note', note, setNote)}
            placeholder="Add a note"
            aria-label="Customer note"
            data-testid="customer-note-input"
          />
          <button type="submit">Add</button>
        </form>
        <ul className="ops-list" data-testid="customer-notes">
          {notes.map((n) => (
            <li key={n.id}>
              {n.text}{' '}
              <span className="muted">
                — {staffName(n.author)}, {formatAgo(n.createdAt, now)}
              </span>
            </li>
          ))}
        </ul>
      </section>
      {error ? <div className="ops-error">{error}</div> : null}
      {confirmDialog}
    </div>
  );
}

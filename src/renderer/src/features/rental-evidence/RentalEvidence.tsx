/**
 * A rental's whole evidence in one large drawer over whichever view is shown: its own timeline in order (where it
 * came from, the start, the payment hold, the unlock command with its steps, the trip with its track on a small
 * map, the end with its price lines and any blockers overridden, the lock command, capture and refunds, damage
 * reports with their photos, notes, and every staff action with who and why), and for an active rental the end on
 * the customer's behalf. Read from the staff API (`GET /ops/v1/rentals/{id}`, support/admin) and kept fresh while
 * open; when the server does not answer, what the replica holds is shown, and says so.
 */
import { useEffect, useState } from 'react';
import { createPortal } from 'react-dom';
import type { CommandDoc, CustomerDoc, NoteDoc, RentalDoc } from '../../../../shared/sync-protocol.js';
import { startFailureWords } from '../../../../shared/start-failures.js';
import { useLiveQuery, useReplica } from '../../data/hooks';
import { StaffApiError } from '../../data/open';
import { formatClock, formatDateTime, formatDuration, formatMoney, formatWhen } from '../../lib/format';
import { noteProblem } from '../../lib/validation';
import { CommandSteps } from '../commands/CommandSteps';
import { commandOutcome, issuerWords } from '../commands/command-words';
import { FieldInput, useFieldProblems } from '../panels/Field';
import { useStaffNames, type StaffNameOf } from '../panels/staff-names';
import { DamagePhotos } from './DamagePhotos';
import { EndRental } from './EndRental';
import {
  actionWords,
  blockerWords,
  commandDocOf,
  evidenceEntries,
  factsFromDetail,
  factsFromDoc,
  operationWords,
  type EvidenceEntry,
  type RentalFacts,
} from './evidence-entries';
import { rentalEvidence, useOpenRentalEvidence } from './evidence-store';
import type { RentalEvidenceDetail } from './evidence-types';
import { PriceLines } from './PriceLines';
import { RentalTrack } from './RentalTrack';
import './rental-evidence.css';

const REFRESH_MS = 5_000;

interface HostProps {
  now: number;
  plateOf: (vehicleId: string) => string;
  tileUrl: string;
}

/** Rendered once by the desk: the drawer of the rental opened anywhere (rentalEvidence.open). */
export function RentalEvidenceHost(props: HostProps) {
  const rentalId = useOpenRentalEvidence();
  const r = useReplica();
  if (!rentalId || !r) return null;
  return createPortal(<RentalEvidence key={rentalId} rentalId={rentalId} {...props} />, document.body);
}

type Answer = { detail: RentalEvidenceDetail } | { offline: string } | { refused: string } | undefined;

function RentalEvidence({ rentalId, now, plateOf, tileUrl }: HostProps & { rentalId: string }) {
  const r = useReplica()!;
  const staffName = useStaffNames();
  const [answer, setAnswer] = useState<Answer>(undefined);
  const [reload, setReload] = useState(0);

  useEffect(() => {
    const abort = new AbortController();
    const read = () =>
      r.staffGet<RentalEvidenceDetail>(`/ops/v1/rentals/${encodeURIComponent(rentalId)}`, abort.signal).then(
        (detail) => setAnswer({ detail }),
        (err: unknown) => {
          if (abort.signal.aborted) return;
          // a refusal (not allowed, no such rental) is the server's word; anything else: it did not answer
          if (err instanceof StaffApiError && err.status < 500 && err.status !== 401) setAnswer({ refused: err.message });
          else setAnswer({ offline: err instanceof Error ? err.message : String(err) });
        },
      );
    void read();
    const timer = setInterval(() => void read(), REFRESH_MS);
    return () => {
      abort.abort();
      clearInterval(timer);
    };
  }, [r, rentalId, reload]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && rentalEvidence.close();
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  // the replica's part (offline, and what the server's answer does not carry: the source, notes, the customer)
  const [doc] = useLiveQuery<RentalDoc>(r.db.rentals, { selector: { id: rentalId } }, rentalId);
  const detail = answer && 'detail' in answer ? answer.detail : undefined;
  const facts: RentalFacts | undefined = detail ? factsFromDetail(detail) : doc ? factsFromDoc(doc) : undefined;
  const sourceId = facts?.sourceId ?? '';
  const [source] = useLiveQuery<RentalDoc>(sourceId ? r.db.rentals : undefined, { selector: { id: sourceId } }, `source|${sourceId}`);
  const commandIds = [facts?.unlockCommandId, facts?.lockCommandId].filter((id): id is string => !!id);
  const replicaCommands = useLiveQuery<CommandDoc>(
    r.db.commands,
    { selector: { id: { $in: commandIds } } },
    `evidence-commands|${commandIds.join(',')}`,
  );
  const notes = useLiveQuery<NoteDoc>(
    r.db.notes,
    { selector: { targetType: 'rental', targetId: rentalId }, sort: [{ createdAt: 'asc' }], limit: 100 },
    `evidence-notes|${rentalId}`,
  );
  const customerId = facts?.customerId ?? '';
  const [customer] = useLiveQuery<CustomerDoc>(customerId ? r.db.customers : undefined, { selector: { id: customerId } }, customerId);

  const offline = answer && 'offline' in answer;
  const close = () => rentalEvidence.close();
  const plate = facts ? plateOf(facts.vehicleId) : '';
  const entries = facts
    ? evidenceEntries({
        facts,
        source,
        commands: detail ? detail.evidence.commands.map((c) => commandDocOf(c, facts.vehicleId)) : replicaCommands,
        operations: detail?.payments?.operations ?? [],
        damageReports: detail?.evidence.damageReports ?? [],
        notes,
        audit: detail?.evidence.audit ?? [],
        endAttempts: detail?.evidence.endAttempts ?? [],
        startAttempts: detail?.evidence.startAttempts ?? [],
      })
    : [];

  return (
    <div className="evidence-backdrop" onMouseDown={(e) => e.target === e.currentTarget && close()}>
      <section
        className="evidence-drawer"
        role="dialog"
        aria-label="Rental evidence"
        data-testid="rental-evidence"
        data-rental-id={rentalId}
        data-mode={detail ? 'live' : offline ? 'offline' : answer ? 'refused' : 'loading'}
        data-status={facts?.status}
      >
        <header className="evidence-head">
          <div className="evidence-title">
            <strong>Rental</strong>
            {facts ? (
              <>
                <span className="evidence-plate">{plate}</span>
                <span className={`pill pill-rental-${facts.status}`}>{facts.status}</span>
                <span className="muted">
                  {customer ? `${customer.name} · ` : ''}
                  {formatDateTime(facts.startedAt)} → {facts.endedAt === null ? 'still running' : formatDateTime(facts.endedAt)}
                  {facts.startedAt !== null ? ` · ${formatDuration((facts.endedAt ?? now) - facts.startedAt)}` : ''}
                </span>
                {facts.totalCents !== null ? <span className="rental-total">{formatMoney(facts.totalCents, facts.currency)}</span> : null}
              </>
            ) : (
              <span className="muted">{rentalId}</span>
            )}
          </div>
          <button type="button" className="icon-button" aria-label="Close the rental evidence" data-testid="evidence-close" onClick={close}>
            ×
          </button>
        </header>
        {offline ? (
          <div className="evidence-offline" data-testid="evidence-offline">
            Offline — showing what this computer holds: the rental, its commands and notes. Payments, damage reports, staff actions and the
            track come back when the server answers.
          </div>
        ) : null}
        {answer && 'refused' in answer ? (
          <div className="ops-error" data-testid="evidence-refused">
            {answer.refused}
          </div>
        ) : null}
        {!facts ? (
          <div className="panel-empty">
            {answer ? 'This rental is not on this computer and the server did not give it.' : 'Reading the rental…'}
          </div>
        ) : (
          <div className="evidence-body">
            <ol className="evidence-timeline" data-testid="evidence-timeline">
              {entries.map((e) => (
                <EntryRow key={e.key} entry={e} facts={facts} now={now} staffName={staffName} />
              ))}
              {entries.length === 0 ? <li className="muted">Nothing recorded yet.</li> : null}
            </ol>
            <aside className="evidence-side">
              {facts.status === 'active' ? (
                <section>
                  <h3 className="section-title">End on the customer&apos;s behalf</h3>
                  <EndRental rentalId={facts.id} plate={plate} now={now} onEnded={() => setReload((n) => n + 1)} />
                </section>
              ) : null}
              {facts.startedAt !== null ? (
                <section>
                  <h3 className="section-title">Trip</h3>
                  <RentalTrack vehicleId={facts.vehicleId} from={facts.startedAt} to={facts.endedAt ?? now} tileUrl={tileUrl} />
                </section>
              ) : null}
              {detail?.payments ? (
                <section data-testid="evidence-money">
                  <h3 className="section-title">Money</h3>
                  <div className="muted">
                    held {formatMoney(detail.payments.held, detail.payments.currency)} · captured{' '}
                    {formatMoney(detail.payments.captured, detail.payments.currency)} · refunded{' '}
                    {formatMoney(detail.payments.refunded, detail.payments.currency)} · {detail.payments.status.replace(/_/g, ' ')}
                  </div>
                </section>
              ) : null}
              <RentalNote rentalId={facts.id} />
            </aside>
          </div>
        )}
      </section>
    </div>
  );
}

function EntryRow({ entry: e, facts, now, staffName }: { entry: EvidenceEntry; facts: RentalFacts; now: number; staffName: StaffNameOf }) {
  let title: string;
  let who: string | null = null;
  let body: React.ReactNode = null;
  switch (e.kind) {
    case 'source':
      title =
        e.source.kind === 'booking'
          ? `Booked for ${formatDateTime(e.source.startsAt)} – ${e.source.endsAt === null ? 'open' : formatDateTime(e.source.endsAt)}`
          : 'Reserved';
      who = 'customer';
      break;
    case 'start':
      title = 'Rental started';
      who = 'customer';
      body = facts.returnBy ? <div className="muted">must be back by {formatDateTime(facts.returnBy)}</div> : null;
      break;
    case 'payment': {
      const op = e.operation;
      const words = operationWords(op);
      title = `${words.title} ${formatMoney(op.amountCents, op.currency)} — ${words.state}`;
      // the hold and the capture are the server's own (for the customer); a refund is a colleague's, with a reason
      const byStaff = op.createdBy !== 'system' && !op.createdBy.startsWith('customer');
      who = byStaff ? staffName(op.createdBy) : op.createdBy === 'system' ? 'system' : 'customer';
      body = (
        <>
          {byStaff && op.reason ? <div>why: {op.reason}</div> : null}
          {op.status === 'failed' && op.lastError ? (
            <div className="ops-error">
              after {op.attempts} attempts: {op.lastError}
            </div>
          ) : null}
          {op.completedAt ? <div className="muted">done {formatWhen(Date.parse(op.completedAt), now)}</div> : null}
        </>
      );
      break;
    }
    case 'command':
      title = `${e.role === 'lock' ? 'Lock' : 'Unlock'} command — ${commandOutcome(e.command)}`;
      who = issuerWords(e.command);
      if (who === e.command.issuedBy) who = staffName(who); // a colleague's id: their name
      body = <CommandSteps command={e.command} />;
      break;
    case 'trip': {
      const usage = facts.price?.['usage'] as { distanceKm?: number; drivingMinutes?: number; parkedMinutes?: number } | undefined;
      title = e.to === null ? `Trip under way — ${formatDuration(now - e.from)} so far` : `Trip — ${formatDuration(e.to - e.from)}`;
      body = usage ? (
        <div className="muted">
          {usage.distanceKm !== undefined ? `${usage.distanceKm.toFixed(1)} km` : ''}
          {usage.drivingMinutes !== undefined ? ` · driving ${Math.round(usage.drivingMinutes)} min` : ''}
          {usage.parkedMinutes !== undefined ? ` · parked ${Math.round(usage.parkedMinutes)} min` : ''}
        </div>
      ) : null;
      break;
    }
    case 'start-failed':
      title = `Start failed: ${startFailureWords(e.attempt.failure, e.attempt.detail)}`;
      who = 'customer';
      body = <div className="muted">{e.attempt.paymentId ? 'payment hold released; ' : ''}the customer could try again</div>;
      break;
    case 'end-refused':
      title = `End refused: ${e.attempt.blockers.map((b) => blockerWords(b.code)).join(', ')}`;
      who = e.attempt.byKind === 'customer' ? 'customer' : staffName(e.attempt.byId);
      break;
    case 'end':
      title = 'Rental ended';
      who = facts.endedBy ? (facts.endedBy.startsWith('customer:') ? 'customer' : staffName(facts.endedBy)) : null;
      body = (
        <>
          {facts.endReason ? <div>why: {facts.endReason}</div> : null}
          {e.overridden.length ? (
            <div className="evidence-override" data-testid="evidence-overridden">
              blockers overridden: {e.overridden.map(blockerWords).join(', ')}
            </div>
          ) : null}
          {facts.price?.lines?.length ? <PriceLines price={facts.price} /> : null}
        </>
      );
      break;
    case 'damage':
      title = 'Damage reported';
      who = 'customer';
      body = (
        <>
          <div className="evidence-damage-text">{e.report.text}</div>
          <DamagePhotos rentalId={facts.id} report={e.report} />
        </>
      );
      break;
    case 'note':
      title = e.note.text;
      who = staffName(e.note.author);
      break;
    case 'staff': {
      const a = e.audit;
      title = `${staffName(a.actor)} ${actionWords(a.action)}`;
      who = a.role;
      body = a.reason ? <div>why: {a.reason}</div> : null;
      break;
    }
  }
  return (
    <li
      className={`evidence-entry evidence-${e.kind}`}
      data-kind={e.kind}
      data-testid="evidence-entry"
      {...(e.kind === 'staff' ? { 'data-action': e.audit.action } : {})}
    >
      <span className="evidence-time" title={formatDateTime(e.at)}>
        {new Date(e.at).toDateString() === new Date(now).toDateString() ? formatClock(e.at) : formatWhen(e.at, now)}
      </span>
      <div className="evidence-main">
        <div className="evidence-entry-title">
          {title}
          {who ? <span className="muted"> — {who}</span> : null}
        </div>
        {body}
      </div>
    </li>
  );
}

/** A note on the rental (replicated: written offline too). */
function RentalNote({ rentalId }: { rentalId: string }) {
  const r = useReplica();
  const [text, setText] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const fields = useFieldProblems<'note'>();
  if (!r || !r.actions.can('note.vehicle')) return null;
  return (
    <section>
      <h3 className="section-title">Add a note</h3>
      <form
        className="ops-row"
        data-testid="evidence-note-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (!fields.check({ note: noteProblem(text) })) return;
          r.actions.addNote('rental', rentalId, text).then(
            () => {
              setText('');
              setError(undefined);
            },
            (err: unknown) => setError(err instanceof Error ? err.message : String(err)),
          );
        }}
      >
        <FieldInput {...fields.input('note', text, setText)} placeholder="Note about this rental" aria-label="Rental note" />
        <button type="submit">Add</button>
      </form>
      {error ? <div className="ops-error">{error}</div> : null}
    </section>
  );
}

/**
 * The selected car's evidence timeline, opened from the vehicle card as a drawer beside it: the car's open alerts
 * and tasks on top (replica), then the server's timeline (`GET /ops/v1/vehicles/{id}/timeline`) newest first —
 * filter by kind, more pages as the list scrolls, new entries every few seconds while open, each entry opening
 * what it names (command, alert, task, rental, customer for support/admin) from the replica — a rental's whole
 * evidence one click further (support/admin). Offline it shows
 * what the replica holds and says what it cannot (including the history past the server's horizon).
 */
import { alertKindLabel } from '../../../../shared/alert-kinds.js';
import { outcomeWords } from '../commands/command-words';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { createPortal } from 'react-dom';
import type { AlertDoc, CommandDoc, CustomerDoc, NoteDoc, RentalDoc, TaskDoc } from '../../../../shared/sync-protocol.js';
import { canSeeCustomerData } from '../../../../shared/permissions.js';
import { TIMELINE_KINDS, type TimelineEntry, type TimelineKind, type TimelinePage } from '../../../../shared/timeline.js';
import { useHistoryDays, useLiveQuery, useReplica } from '../../data/hooks';
import { formatAgo, formatDateTime, formatWhen, plainServerText } from '../../lib/format';
import { useReplay } from '../replay/replay-store';
import { rentalEvidence } from '../rental-evidence/evidence-store';
import { useStaffNames, type StaffNameOf } from '../panels/staff-names';
import { REPLICA_CANNOT_SHOW, replicaEntries } from './replica-entries';
import { leavesGap, mergeNewest, PAGE } from './timeline-pages';
import './timeline.css';

const LIVE_MS = 5_000;
const KIND_LABELS: Record<TimelineKind, string> = {
  connectivity: 'online',
  trip: 'trips',
  energy: 'energy',
  zone: 'zone',
  device_event: 'device',
  command: 'commands',
  rental: 'rentals',
  alert: 'alerts',
  task: 'tasks',
  note: 'notes',
  payment: 'payments',
  staff: 'staff',
};

type Mode = 'loading' | 'live' | 'offline';

export function VehicleTimeline({ vehicleId, now }: { vehicleId: string; now: number }) {
  const [place, setPlace] = useState<Placement | undefined>(undefined);
  const button = useRef<HTMLButtonElement | null>(null);
  // The card clips what overflows it: the drawer goes to the page, left of the card, where the card is now.
  const toggle = () => {
    const card = button.current?.closest('.vehicle-card')?.getBoundingClientRect();
    setPlace(
      place || !card
        ? undefined
        : {
            top: card.top,
            right: window.innerWidth - card.left + 8,
            width: Math.max(260, Math.min(380, card.left - 16)),
            // never over the map legend (its state filters stay usable while the drawer is open)
            maxHeight: Math.max(
              200,
              (document.querySelector('[data-testid="map-legend"]')?.getBoundingClientRect().top ?? window.innerHeight - 40) - card.top - 8,
            ),
          },
    );
  };
  return (
    <>
      <button ref={button} type="button" className="text-button" data-testid="open-timeline" onClick={toggle}>
        {place ? 'Hide timeline' : 'Timeline'}
      </button>
      {place
        ? createPortal(
            <TimelineDrawer vehicleId={vehicleId} now={now} place={place} onClose={() => setPlace(undefined)} />,
            // into the operations workspace, not the page: it hides with the workspace (the back office open) instead of
            // lying over the back office's sections
            button.current?.closest('.workspace') ?? document.body,
          )
        : null}
    </>
  );
}

interface Placement {
  top: number;
  right: number;
  width: number;
  maxHeight: number;
}

function TimelineDrawer({ vehicleId, now, place, onClose }: { vehicleId: string; now: number; place: Placement; onClose: () => void }) {
  const r = useReplica();
  const historyDays = useHistoryDays(r);
  const staffName = useStaffNames(); // actors and assignees by name
  const withCustomers = r ? canSeeCustomerData(r.identity.operator.role) : false;
  const [kinds, setKinds] = useState<ReadonlySet<TimelineKind>>(new Set());
  const [entries, setEntries] = useState<TimelineEntry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [mode, setMode] = useState<Mode>('loading');
  const [error, setError] = useState<string | undefined>(undefined);
  const [expanded, setExpanded] = useState<string | undefined>(undefined);
  const loadingMore = useRef(false);
  /** what is shown, for the live re-read to tell whether its page joins it (read outside render) */
  const shownNow = useRef<TimelineEntry[]>([]);
  shownNow.current = entries;
  const sentinel = useRef<HTMLLIElement | null>(null);
  const list = useRef<HTMLOListElement | null>(null);
  const kindsParam = kinds.size === 0 ? '' : `&kinds=${[...kinds].join(',')}`;
  const path = useCallback(
    (before: string | null) =>
      `/ops/v1/vehicles/${encodeURIComponent(vehicleId)}/timeline?limit=${PAGE}${kindsParam}${before ? `&before=${encodeURIComponent(before)}` : ''}`,
    [vehicleId, kindsParam],
  );

  // first page (again on every filter change), then the newest page every few seconds, merged on top
  useEffect(() => {
    if (!r) return;
    const abort = new AbortController();
    setEntries([]);
    setCursor(null);
    setMode('loading');
    const first = () =>
      r.staffGet<TimelinePage>(path(null), abort.signal).then(
        (page) => {
          setMode('live');
          setError(undefined);
          if (leavesGap(shownNow.current, page.entries)) {
            // More than a page arrived since the last read: what is shown no longer joins the newest page, and
            // the older pages must continue from this page's end, or the entries in between are never loaded.
            setEntries(page.entries);
            setCursor(page.nextCursor);
          } else {
            setEntries((prev) => mergeNewest(prev, page.entries));
            setCursor((c) => c ?? page.nextCursor);
          }
        },
        (err: unknown) => {
          if (abort.signal.aborted) return;
          setMode('offline');
          setError(err instanceof Error ? err.message : String(err));
        },
      );
    void first();
    const timer = setInterval(() => void first(), LIVE_MS);
    return () => {
      abort.abort();
      clearInterval(timer);
    };
  }, [r, path]);

  // older pages as the end of the list scrolls into view
  useEffect(() => {
    const el = sentinel.current;
    if (!r || !el || !cursor || mode !== 'live') return;
    const observer = new IntersectionObserver(
      (seen) => {
        if (!seen.some((s) => s.isIntersecting) || loadingMore.current) return;
        loadingMore.current = true;
        r.staffGet<TimelinePage>(path(cursor))
          .then((page) => {
            setEntries((prev) => [...prev, ...page.entries.filter((e) => !prev.some((p) => p.id === e.id))]);
            setCursor(page.nextCursor);
          }, setErrorFrom(setError))
          .finally(() => (loadingMore.current = false));
      },
      { root: list.current },
    );
    observer.observe(el);
    return () => observer.disconnect();
  }, [r, cursor, mode, path]);

  // the replica: what is open on the car now, what the entries link to, and the offline timeline
  const alerts = useLiveQuery<AlertDoc>(r?.db.alerts, { selector: { vehicleId }, sort: [{ openedAt: 'desc' }], limit: 200 }, vehicleId);
  const tasks = useLiveQuery<TaskDoc>(r?.db.tasks, { selector: { vehicleId }, sort: [{ createdAt: 'desc' }], limit: 200 }, vehicleId);
  const commands = useLiveQuery<CommandDoc>(
    r?.db.commands,
    { selector: { vehicleId }, sort: [{ createdAt: 'desc' }], limit: 200 },
    vehicleId,
  );
  const rentals = useLiveQuery<RentalDoc>(r?.db.rentals, { selector: { vehicleId }, limit: 200 }, vehicleId);
  const notes = useLiveQuery<NoteDoc>(
    r?.db.notes,
    { selector: { targetType: 'vehicle', targetId: vehicleId }, sort: [{ createdAt: 'desc' }], limit: 200 },
    vehicleId,
  );
  const openAlerts = alerts.filter((a) => a.status !== 'resolved');
  const openTasks = tasks.filter((t) => t.status === 'open' || t.status === 'assigned');
  const offlineEntries = useMemo(
    () => replicaEntries({ commands, alerts, tasks, notes, rentals }, withCustomers).filter((e) => kinds.size === 0 || kinds.has(e.kind)),
    [commands, alerts, tasks, notes, rentals, withCustomers, kinds],
  );
  const shown = mode === 'offline' ? offlineEntries : entries;
  // a replay of this car on the map: the entry of the replayed moment (the newest at or before it) is marked
  const replay = useReplay();
  const replayed = replay?.vehicleId === vehicleId ? shown.find((e) => e.at <= replay.at)?.id : undefined;

  const toggleKind = (k: TimelineKind) =>
    setKinds((prev) => {
      const next = new Set(prev);
      if (next.has(k)) next.delete(k);
      else next.add(k);
      return next;
    });

  return (
    <section
      className="timeline-drawer"
      data-testid="vehicle-timeline"
      aria-label="Vehicle timeline"
      style={{ top: place.top, right: place.right, width: place.width, maxHeight: place.maxHeight }}
    >
      <header className="timeline-head">
        <strong>Timeline</strong>
        <span className={`timeline-mode timeline-mode-${mode}`} data-testid="timeline-mode">
          {mode === 'live' ? 'live' : mode === 'loading' ? 'loading…' : 'offline — replica'}
        </span>
        <button type="button" className="icon-button" aria-label="Close timeline" onClick={onClose}>
          ×
        </button>
      </header>
      {openAlerts.length + openTasks.length > 0 ? (
        <div className="timeline-open" data-testid="timeline-open-items">
          {openAlerts.map((a) => (
            <div key={a.id} className={`timeline-open-item sev-${a.severity}`}>
              <span className="timeline-open-tag">alert</span> {alertKindLabel(a.kind)} · {a.status}
              {a.assignee ? ` · ${a.assignee}` : ''} · {formatAgo(a.openedAt, now)}
            </div>
          ))}
          {openTasks.map((t) => (
            <div key={t.id} className="timeline-open-item">
              <span className="timeline-open-tag">task</span> {t.kind} · {t.status}
              {t.assignee ? ` · ${t.assignee}` : ''}
              {t.note ? ` · ${t.note}` : ''}
            </div>
          ))}
        </div>
      ) : null}
      <div className="timeline-kinds" role="group" aria-label="Filter by kind">
        <button type="button" className={kinds.size === 0 ? 'kind-on' : ''} onClick={() => setKinds(new Set())}>
          all
        </button>
        {TIMELINE_KINDS.map((k) => (
          <button
            key={k}
            type="button"
            data-testid={`timeline-kind-${k}`}
            className={kinds.has(k) ? 'kind-on' : ''}
            onClick={() => toggleKind(k)}
          >
            {KIND_LABELS[k]}
          </button>
        ))}
      </div>
      {mode === 'offline' ? (
        <div className="timeline-offline" data-testid="timeline-offline">
          The server is not reachable{error ? ` (${error})` : ''}: this is what the local replica holds. Not available offline:{' '}
          {REPLICA_CANNOT_SHOW}
          {historyDays !== undefined ? `, and rentals and tasks closed more than ${historyDays} days ago (not held on this desk)` : ''}.
        </div>
      ) : null}
      <ol ref={list} className="timeline-list" data-testid="timeline-entries">
        {shown.map((e) => (
          <li
            key={e.id}
            className={`timeline-entry kind-${e.kind}${e.id === replayed ? ' timeline-entry-replayed' : ''}`}
            data-kind={e.kind}
            data-replayed={e.id === replayed ? 'true' : undefined}
          >
            <button type="button" className="timeline-entry-main" onClick={() => setExpanded(expanded === e.id ? undefined : e.id)}>
              <span className="timeline-time" title={formatDateTime(e.at)}>
                {formatWhen(e.at, now)}
              </span>
              <span className="timeline-kind">{KIND_LABELS[e.kind]}</span>
              <span className="timeline-actor">{actorLabel(e, staffName)}</span>
              <span className="timeline-title">{plainServerText(e.title)}</span>
              {e.detail ? <span className="timeline-detail">{plainServerText(e.detail)}</span> : null}
            </button>
            {expanded === e.id ? (
              <LinkedItems entry={e} docs={{ commands, alerts, tasks, rentals }} withCustomers={withCustomers} staffName={staffName} />
            ) : null}
          </li>
        ))}
        {shown.length === 0 && mode !== 'loading' ? <li className="muted">Nothing {kinds.size ? 'of these kinds ' : ''}yet.</li> : null}
        {mode === 'live' && cursor ? (
          <li ref={sentinel} className="timeline-more muted" data-testid="timeline-more">
            loading older entries…
          </li>
        ) : null}
        {mode === 'live' && !cursor && entries.length > 0 ? (
          <li className="timeline-more muted">the beginning of this car’s history</li>
        ) : null}
      </ol>
    </section>
  );
}

/** What an entry names, as the replica has it (a customer only for support/admin). */
function LinkedItems({
  entry,
  docs,
  withCustomers,
  staffName,
}: {
  staffName: StaffNameOf;
  entry: TimelineEntry;
  docs: { commands: CommandDoc[]; alerts: AlertDoc[]; tasks: TaskDoc[]; rentals: RentalDoc[] };
  withCustomers: boolean;
}) {
  const r = useReplica();
  const customerId = withCustomers ? entry.refs.customerId : undefined;
  const [customer] = useLiveQuery<CustomerDoc>(
    customerId ? r?.db.customers : undefined,
    { selector: { id: customerId ?? '' } },
    customerId ?? '',
  );
  const { commandId, alertId, taskId } = entry.refs;
  const claimId = entry.refs.rentalId ?? entry.refs.bookingId ?? entry.refs.reservationId;
  const command = commandId ? docs.commands.find((c) => c.id === commandId) : undefined;
  const alert = alertId ? docs.alerts.find((a) => a.id === alertId) : undefined;
  const task = taskId ? docs.tasks.find((t) => t.id === taskId) : undefined;
  const claim = claimId ? docs.rentals.find((x) => x.id === claimId) : undefined;
  const rows: Array<[string, string]> = [];
  if (commandId) rows.push(['command', command ? outcomeWords(command.type, command.status, command.lastResultReason) : commandId]);
  if (alertId)
    rows.push([
      'alert',
      alert ? `${plainServerText(alert.kind)} · ${alert.status}${alert.assignee ? ` · ${staffName(alert.assignee)}` : ''}` : alertId,
    ]);
  if (taskId) rows.push(['task', task ? `${task.kind} · ${task.status}${task.note ? ` · ${task.note}` : ''}` : taskId]);
  if (claimId)
    rows.push([claim?.kind ?? 'rental', claim ? `${claim.status} · ${formatDateTime(claim.startedAt ?? claim.startsAt)}` : claimId]);
  if (entry.refs.paymentId) rows.push(['payment', entry.refs.paymentId]);
  if (customerId) rows.push(['customer', customer ? `${customer.name} · ${customer.email} · ${customer.status}` : customerId]);
  if (rows.length === 0) return null;
  // a rental's whole evidence, for the roles that may read rentals
  const rentalId = entry.refs.rentalId ?? (claim?.kind === 'rental' ? claim.id : undefined);
  return (
    <dl className="timeline-links" data-testid="timeline-links">
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
      {rentalId && r?.actions.can('rental.read') ? (
        <div>
          <dt />
          <dd>
            <button type="button" className="text-button" data-testid="timeline-open-rental" onClick={() => rentalEvidence.open(rentalId)}>
              Open the rental’s evidence
            </button>
          </dd>
        </div>
      ) : null}
    </dl>
  );
}

function actorLabel(e: TimelineEntry, staffName: StaffNameOf): string {
  const a = e.actor;
  if (a.type === 'staff') return a.name ?? (a.id ? staffName(a.id) : 'staff');
  if (a.type === 'customer') return a.name ? `customer ${a.name}` : 'customer';
  return a.type;
}

const setErrorFrom = (set: (e: string) => void) => (err: unknown) => set(err instanceof Error ? err.message : String(err));

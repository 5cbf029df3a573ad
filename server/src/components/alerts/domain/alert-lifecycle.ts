/**
 * Staff use cases on alerts: read, acknowledge, assign, resolve. Lifecycle `open → acknowledged → resolved`
 * (open → resolved directly too; assigning keeps the status); anything else is a 409. Each change and its audit
 * entry commit in one transaction (the alert gets a new server_seq).
 */
import { AppError } from '../../../../../src/shared/errors.js';
import type { Actor } from '../../../platform/http/actor.js';
import { getForUpdate, updateByStaff, type AlertFilter, type AlertsRepository, type StaffUpdate } from '../data/alerts.repository.js';
import type { Alert } from '../model.js';
import type { RecordAudit } from '../../audit/index.js';

export interface AlertLifecycleHooks {
  /** after a staff resolve commits: the engine forgets the alert, metrics count it */
  onResolved?(alert: Alert): void;
}

export type StaffAction = 'acknowledge' | 'assign' | 'resolve';

export class AlertLifecycle {
  constructor(
    private readonly repo: AlertsRepository,
    private readonly recordAudit: RecordAudit,
    private readonly hooks: AlertLifecycleHooks = {},
    private readonly now: () => number = Date.now,
  ) {}

  list(filter: AlertFilter): Promise<Alert[]> {
    return this.repo.list(filter);
  }

  async get(id: string): Promise<Alert> {
    const alert = await this.repo.get(id);
    if (!alert) throw notFound(id);
    return alert;
  }

  acknowledge(id: string, actor: Actor): Promise<Alert> {
    return this.change(id, actor, 'acknowledge', null, (a, at) => {
      if (a.status !== 'open') throw illegal(a, 'acknowledge');
      return { ...staffFields(a), status: 'acknowledged', acknowledgedBy: actor.id, acknowledgedAt: at };
    });
  }

  assign(id: string, actor: Actor, assignee: string | null): Promise<Alert> {
    return this.change(id, actor, 'assign', null, (a) => {
      if (a.status === 'resolved') throw illegal(a, 'assign');
      return { ...staffFields(a), assignee };
    });
  }

  async resolve(id: string, actor: Actor, note: string): Promise<Alert> {
    const alert = await this.change(id, actor, 'resolve', note, (a, at) => {
      if (a.status === 'resolved') throw illegal(a, 'resolve');
      return { ...staffFields(a), status: 'resolved', resolvedBy: actor.id, resolvedAt: at, resolution: note };
    });
    this.hooks.onResolved?.(alert);
    return alert;
  }

  private change(
    id: string,
    actor: Actor,
    action: StaffAction,
    reason: string | null,
    next: (alert: Alert, at: number) => StaffUpdate,
  ): Promise<Alert> {
    return this.repo.staffTransaction(async (tx) => {
      const before = await getForUpdate(tx, id);
      if (!before) throw notFound(id);
      const after = await updateByStaff(tx, id, next(before, this.now()));
      await this.recordAudit(tx, {
        actor: actor.id,
        role: actor.role,
        action: `alert.${action}`,
        targetType: 'alert',
        targetId: id,
        reason,
        before: auditView(before),
        after: auditView(after),
      });
      return after;
    });
  }
}

function staffFields(a: Alert): StaffUpdate {
  return {
    status: a.status,
    assignee: a.assignee,
    acknowledgedBy: a.acknowledgedBy,
    acknowledgedAt: a.acknowledgedAt,
    resolvedBy: a.resolvedBy,
    resolvedAt: a.resolvedAt,
    resolution: a.resolution,
  };
}

/** The fields a staff change can touch (details and counters are the engine's). */
function auditView(a: Alert): Record<string, unknown> {
  return { status: a.status, assignee: a.assignee, acknowledgedBy: a.acknowledgedBy, resolvedBy: a.resolvedBy, resolution: a.resolution };
}

function notFound(id: string): AppError {
  return new AppError('alert_not_found', `No alert ${id}`, { status: 404 });
}

function illegal(a: Alert, action: StaffAction): AppError {
  return new AppError('illegal_transition', `Cannot ${action} an alert that is ${a.status}`, { status: 409 });
}

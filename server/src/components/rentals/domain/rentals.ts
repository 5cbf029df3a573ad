/**
 * The rentals use cases in one object: start, end, reads, receipts, damage reports and the staff view.
 * `createRentals(options)` is the factory the rentals index wires (api/rentals.routes.ts registers the HTTP routes
 * over the returned object). "Which cars are rented now" (alerts) is the bookings availability index's, fed by
 * the `rental.started` / `rental.ended` events emitted here.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { Registry } from 'prom-client';
import type { ServiceArea } from '../../../../../src/shared/service-area.js';
import { AppError } from '../../../../../src/shared/errors.js';
import type { Db } from '../../../platform/db/index.js';
import type { DomainEvents } from '../../../platform/domain-events.js';
import { errorFields, type Logger } from '../../../platform/log.js';
import { listAudit, type AuditRecord } from '../../audit/index.js';
import { rentalClaims, type RentalFilter } from '../../bookings/index.js';
import type { CommandWithTransitions } from '../../commands/index.js';
import { estimateHoldCents, loadTariff, priceRental } from '../../pricing/index.js';
import { RentalsRepository, type CustomerStartAttemptRow, type StartAttemptRow } from '../data/rentals.repository.js';
import {
  buildReceipt,
  createRentalMetrics,
  DEFAULT_RENTAL_SETTINGS,
  paymentsSummary,
  rentalView,
  staffRentalView,
  storedPrice,
  type Receipt,
  type RentalSettings,
  type RentalView,
  type RentalsContext,
  type StaffRentalView,
  type StoredPrice,
} from './rentals-context.js';
import {
  createDamageReport,
  damagePhotoFile,
  damageReportView,
  DamageReportStore,
  removeDir,
  type DamagePhotoFile,
  type DamageReportPart,
  type DamageReportView,
} from './rentals-damage-reports.js';
import { checkRentalEnd, endRental, type RentalEndCheck, type RentalEnded, type RentalEnder } from './rentals-end.js';
import type {
  RentalClaimsPort,
  RentalCommandsPort,
  RentalCustomersPort,
  RentalPaymentsPort,
  RentalPaymentsSummary,
  RentalPricingPort,
  RentalTelemetryPort,
  RentalVehicleLinkPort,
} from './rentals-ports.js';
import { startRental, sweepAbandonedHolds, type RentalStarted, type RentalStartInput } from './rentals-start.js';

export type { RentalEnded, RentalEnder, RentalEndCheck, LockReport } from './rentals-end.js';
export { RentalEndBlockedError } from './rentals-end.js';
export type { RentalStarted, RentalStartInput } from './rentals-start.js';
export type { Receipt, RentalView, StaffRentalView, StoredPrice, RentalSettings } from './rentals-context.js';
export type { DamagePhotoFile, DamageReportPart, DamageReportView } from './rentals-damage-reports.js';
export { MAX_PHOTOS, MAX_PHOTO_BYTES, MAX_TEXT_LENGTH } from './rentals-damage-reports.js';
export { END_BLOCKER_CODES, type EndBlocker } from './rentals-end-blockers.js';
export type * from './rentals-ports.js';

/** `dataDir` value that keeps the database in memory: photos then go to a temporary directory, removed on stop. */
const IN_MEMORY_DATA_DIR = 'memory://';

export interface RentalsOptions {
  db: Db;
  log: Logger;
  customers: RentalCustomersPort;
  payments: RentalPaymentsPort;
  commands: RentalCommandsPort;
  /** fleet component: whether the server can reach the cars at all (its broker link); absent: always */
  vehicleLink?: RentalVehicleLinkPort;
  /** the operating zone used when the zones table has none */
  operatingZone: ServiceArea;
  /** DATA_DIR: damage-report photos go to `<dataDir>/damage-reports/` */
  dataDir: string;
  settings?: Partial<RentalSettings>;
  events?: DomainEvents;
  metrics?: Registry;
  /** defaults to the bookings component's claim API (the allocations table) */
  claims?: RentalClaimsPort;
  /** defaults to the pricing component (tests may price differently) */
  pricing?: RentalPricingPort;
  /** defaults to the stored telemetry (vehicle_state, telemetry_history, zones) */
  telemetry?: RentalTelemetryPort;
  now?: () => number;
  /** how often holds of abandoned starts are looked for (default 60 s; 0 = never, tests call sweepAbandonedHolds) */
  abandonedHoldSweepMs?: number;
}

export interface StaffRentalDetail {
  rental: StaffRentalView;
  price: StoredPrice | null;
  receipt: Receipt | null;
  payments: RentalPaymentsSummary | null;
  evidence: {
    commands: CommandWithTransitions[];
    damageReports: DamageReportView[];
    audit: AuditRecord[];
    /** ends refused by their blockers, oldest first (who: `customer` or a staff id) */
    endAttempts: Array<{ at: number; byKind: 'customer' | 'staff'; byId: string; blockers: Array<{ code: string; message: string }> }>;
    /** starts of its reservation or booking that failed before this one succeeded, oldest first */
    startAttempts: StartAttemptRow[];
  };
}

export interface Rentals {
  start(input: RentalStartInput): Promise<RentalStarted>;
  end(rentalId: string, by: RentalEnder): Promise<RentalEnded>;
  /** the customer's own rental (another's → 404) */
  getForCustomer(customerId: string, rentalId: string): Promise<{ rental: RentalView; receipt: Receipt | null }>;
  listForCustomerOwn(customerId: string, filter: { status?: 'active' | 'ended'; limit: number }): Promise<RentalView[]>;
  receiptForCustomer(customerId: string, rentalId: string): Promise<Receipt>;
  /** staff "customer 360" (customers component port) */
  listRentalsForCustomer(customerId: string, limit: number): Promise<StaffRentalView[]>;
  listForStaff(filter: RentalFilter): Promise<StaffRentalView[]>;
  staffDetail(rentalId: string): Promise<StaffRentalDetail>;
  /** a customer's failed starts (reservations and bookings kept, holds voided), newest first */
  startAttemptsOfCustomer(customerId: string, limit: number): Promise<CustomerStartAttemptRow[]>;
  /** the end check (blockers from the latest telemetry) without ending */
  endCheck(rentalId: string): Promise<RentalEndCheck>;
  createDamageReport(a: { rentalId: string; customerId: string; parts: AsyncIterable<DamageReportPart> }): Promise<DamageReportView>;
  /** a damage report's photo for staff (a report of another rental → 404) */
  damagePhoto(rentalId: string, reportId: string, n: number): Promise<DamagePhotoFile>;
  /** voids the holds of starts that never finished (runs by itself every `abandonedHoldSweepMs`); how many */
  sweepAbandonedHolds(): Promise<number>;
  stop(): Promise<void>;
}

export async function createRentals(options: RentalsOptions): Promise<Rentals> {
  const log = options.log.child({ component: 'rentals' });
  const repo = new RentalsRepository(options.db);
  const claims = options.claims ?? rentalClaims;
  let tempRoot: string | undefined;
  let rootPromise: Promise<string> | undefined;
  const root = () =>
    (rootPromise ??=
      options.dataDir === IN_MEMORY_DATA_DIR
        ? mkdtemp(join(tmpdir(), 'fleetdesk-rentals-')).then((dir) => (tempRoot = dir))
        : Promise.resolve(isAbsolute(options.dataDir) ? options.dataDir : resolve(process.cwd(), options.dataDir)));
  const store = new DamageReportStore(root);

  const ctx: RentalsContext = {
    repo,
    claims,
    customers: options.customers,
    payments: options.payments,
    commands: options.commands,
    vehicleLink: options.vehicleLink,
    pricing: options.pricing ?? { loadTariff, estimateHoldCents, priceRental },
    telemetry: options.telemetry ?? {
      latestState: (vehicleId) => repo.latestState(vehicleId),
      samples: (vehicleId, from, to) => repo.telemetrySamples(vehicleId, from, to),
      endZones: () => repo.endZones(),
    },
    fallbackZones: [{ id: options.operatingZone.id, polygon: options.operatingZone.polygon }],
    settings: { ...DEFAULT_RENTAL_SETTINGS, ...options.settings },
    events: options.events,
    log,
    metrics: createRentalMetrics(options.metrics),
    now: options.now ?? Date.now,
  };

  const notFound = (rentalId: string) => new AppError('rental_not_found', `no rental ${rentalId}`, { status: 404 });

  let sweeping: Promise<number> | undefined;
  const sweep = (): Promise<number> => (sweeping ??= sweepAbandonedHolds(ctx).finally(() => (sweeping = undefined)));
  const sweepMs = options.abandonedHoldSweepMs ?? 60_000;
  const sweepTimer =
    sweepMs > 0
      ? setInterval(() => void sweep().catch((err: unknown) => log.warn('abandoned-hold sweep failed', errorFields(err))), sweepMs)
      : undefined;
  sweepTimer?.unref();

  return {
    start: (input) => startRental(ctx, input),
    end: (rentalId, by) => endRental(ctx, rentalId, by),
    async getForCustomer(customerId, rentalId) {
      const row = await claims.getRental(options.db, rentalId, { customerId });
      if (!row) throw notFound(rentalId);
      const receipt = row.status === 'ended' ? buildReceipt(row, await paymentsSummary(ctx, row.id)) : null;
      return { rental: rentalView(row), receipt };
    },
    async listForCustomerOwn(customerId, filter) {
      return (await claims.listRentals(options.db, { customerId, status: filter.status, limit: filter.limit })).map(rentalView);
    },
    async receiptForCustomer(customerId, rentalId) {
      const row = await claims.getRental(options.db, rentalId, { customerId });
      if (!row) throw notFound(rentalId);
      const receipt = buildReceipt(row, await paymentsSummary(ctx, row.id));
      if (!receipt)
        throw new AppError('rental_not_ended', `rental ${rentalId} is still active: the receipt comes when it ends`, { status: 409 });
      return receipt;
    },
    async listRentalsForCustomer(customerId, limit) {
      return (await claims.listRentals(options.db, { customerId, limit })).map(staffRentalView);
    },
    async listForStaff(filter) {
      return (await claims.listRentals(options.db, filter)).map(staffRentalView);
    },
    async staffDetail(rentalId) {
      const row = await claims.getRental(options.db, rentalId, {});
      if (!row) throw notFound(rentalId);
      const payments = await paymentsSummary(ctx, row.id);
      const commandIds = [row.unlockCommandId, row.lockCommandId].filter((id): id is string => id !== null);
      const commands = (await Promise.all(commandIds.map((id) => options.commands.getCommand(id).catch(() => null)))).filter(
        (c): c is CommandWithTransitions => c !== null,
      );
      const [reports, audit, attempts, starts] = await Promise.all([
        repo.listDamageReports(row.id),
        listAudit(options.db, { targetType: 'rental', targetId: row.id, limit: 100 }),
        repo.listEndAttempts(row.id),
        repo.listStartAttempts(row.sourceId ? [row.sourceId] : []),
      ]);
      return {
        rental: staffRentalView(row),
        price: storedPrice(row),
        receipt: buildReceipt(row, payments),
        payments,
        evidence: {
          commands,
          damageReports: reports.map(damageReportView),
          audit,
          endAttempts: attempts.map(({ at, byKind, byId, blockers }) => ({ at, byKind, byId, blockers })),
          startAttempts: starts,
        },
      };
    },
    startAttemptsOfCustomer: (customerId, limit) => repo.listStartAttemptsOfCustomer(customerId, limit),
    endCheck: (rentalId) => checkRentalEnd(ctx, rentalId),
    createDamageReport: (a) => createDamageReport(ctx, store, a),
    damagePhoto: (rentalId, reportId, n) => damagePhotoFile(ctx, store, rentalId, reportId, n),
    sweepAbandonedHolds: sweep,
    async stop() {
      clearInterval(sweepTimer);
      await sweeping?.catch(() => undefined);
      if (tempRoot) await removeDir(tempRoot).catch(() => undefined);
    },
  };
}

/**
 * What the rental use cases need from the rest of the server, as narrow interfaces (ports): the customers,
 * payments and commands components (reached through their index.ts by the composition), pricing, and the
 * vehicle's telemetry. Keeping them narrow lets the orchestration be tested with in-memory stand-ins and lets
 * each owner change everything behind their interface.
 */
import type { Queryable } from '../../../platform/db/index.js';
import type { CommandRecord, CommandWithTransitions, IssueCommandInput, IssueCommandResult } from '../../commands/index.js';
import type { CustomerEligibility } from '../../customers/index.js';
import type { HoldOutcome, PaymentMethodSummary, RentalPayments } from '../../payments/index.js';
import type { PriceBreakdown, RentalUsage, Tariff } from './pricing.js';
import type { EndZone, LatestVehicleState } from './rentals-end-blockers.js';
import type { UsageSample } from './rentals-usage.js';

export type { PriceBreakdown, PriceLine, RentalUsage, Tariff } from './pricing.js';

/** customers component: only what a rental needs from it */
export type { CustomerEligibility };
export interface RentalCustomersPort {
  eligibility(customerId: string): Promise<CustomerEligibility>;
}

/** payments component: its own types, so the port cannot drift from the component */
export type { HoldOutcome, PaymentMethodSummary };
export type RentalPaymentsSummary = RentalPayments;
export interface RentalPaymentsPort {
  defaultPaymentMethod(customerId: string): Promise<PaymentMethodSummary | null>;
  authorizeHold(
    input: { rentalId: string; customerId: string; paymentMethodId: string; amountCents: number; currency: string; idempotencyKey: string },
    deadlineMs: number,
  ): Promise<HoldOutcome>;
  enqueueCapture(tx: Queryable, input: { rentalId: string; paymentId: string; amountCents: number; currency: string }): Promise<void>;
  enqueueVoid(tx: Queryable, input: { rentalId: string; paymentId: string; reason: string }): Promise<void>;
  rentalPayments(rentalId: string): Promise<RentalPaymentsSummary>;
  /** holds still authorized after `olderThanMs` (the abandoned-start sweep; optional for stand-ins) */
  staleHolds?(olderThanMs: number, limit: number): Promise<Array<{ paymentId: string; rentalId: string }>>;
}

/** commands component (server/src/components/commands/index.ts) */
export interface RentalCommandsPort {
  issueCommand(input: IssueCommandInput): Promise<IssueCommandResult>;
  cancelCommand(commandId: string, reason: string, actor: IssueCommandInput['actor']): Promise<CommandRecord>;
  getCommand(commandId: string): Promise<CommandWithTransitions>;
  /** the command once terminal, or its state after `timeoutMs` */
  waitForTerminal(commandId: string, timeoutMs: number): Promise<CommandRecord>;
}

/** pricing (bookings-core, domain/pricing.ts): pure functions plus the tariff lookup */
export interface RentalPricingPort {
  loadTariff(db: Queryable, vehicleId: string): Promise<Tariff>;
  estimateHoldCents(tariff: Tariff): number;
  priceRental(tariff: Tariff, usage: RentalUsage): PriceBreakdown;
}

/** The vehicle's telemetry as stored by the fleet component (read-only; works across server instances). */
export interface RentalTelemetryPort {
  latestState(vehicleId: string): Promise<LatestVehicleState | null>;
  /** samples received in [fromMs, toMs], oldest first */
  samples(vehicleId: string, fromMs: number, toMs: number): Promise<UsageSample[]>;
  /** operating zones (polygons) a rental may end in */
  operatingZones(): Promise<EndZone[]>;
}

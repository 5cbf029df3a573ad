/**
 * What the rental use cases need from the rest of the server, as narrow interfaces (ports): the customers,
 * payments, commands, bookings (claims) and pricing components (reached through their index.ts), and the
 * vehicle's telemetry. Keeping them narrow lets the orchestration be tested with in-memory stand-ins and lets
 * each owner change everything behind their interface.
 */
import type { Queryable } from '../../../platform/db/index.js';
import type { RentalClaims } from '../../bookings/index.js';
import type { CommandRecord, CommandWithTransitions, IssueCommandInput, IssueCommandResult } from '../../commands/index.js';
import type { CustomerEligibility } from '../../customers/index.js';
import type { HoldOutcome, PaymentMethodSummary, PaymentsComponent, RentalPayments } from '../../payments/index.js';
import type { PriceBreakdown, RentalUsage, Tariff, TariffPick } from '../../pricing/index.js';
import type { EndZone, LatestVehicleState, UsageSample } from '../model.js';

export type { PriceBreakdown, PriceLine, RentalUsage, Tariff } from '../../pricing/index.js';

/** customers component: only what a rental needs from it */
export type { CustomerEligibility };
export interface RentalCustomersPort {
  eligibility(customerId: string): Promise<CustomerEligibility>;
}

/** payments component: the part of its contract a rental uses, taken from the contract itself (it cannot drift) */
export type { HoldOutcome, PaymentMethodSummary };
export type RentalPaymentsSummary = RentalPayments;
export type RentalPaymentsPort = Pick<
  PaymentsComponent,
  'defaultPaymentMethod' | 'authorizeHold' | 'enqueueCapture' | 'enqueueVoid' | 'rentalPayments'
> &
  /** the abandoned-start sweep (optional for stand-ins) */
  Partial<Pick<PaymentsComponent, 'staleHolds'>>;

/** commands component (server/src/components/commands/index.ts) */
export interface RentalCommandsPort {
  issueCommand(input: IssueCommandInput): Promise<IssueCommandResult>;
  cancelCommand(commandId: string, reason: string, actor: IssueCommandInput['actor']): Promise<CommandRecord>;
  getCommand(commandId: string): Promise<CommandWithTransitions>;
  /** the command once terminal, or its state after `timeoutMs` */
  waitForTerminal(commandId: string, timeoutMs: number): Promise<CommandRecord>;
}

/**
 * fleet component: since when this instance cannot reach the cars (its broker link is down); null while it can.
 * A start then does not wait for an unlock that cannot be delivered.
 */
export interface RentalVehicleLinkPort {
  brokerDownSince(): number | null;
}

/** bookings component: the rental rows of the allocations table and the conversion of their source (its claim API) */
export type RentalClaimsPort = RentalClaims;

/** pricing component: pure functions plus the tariff lookup */
export interface RentalPricingPort {
  loadTariff(db: Queryable, vehicleId: string, pick?: TariffPick): Promise<Tariff>;
  estimateHoldCents(tariff: Tariff): number;
  priceRental(tariff: Tariff, usage: RentalUsage): PriceBreakdown;
}

/** The vehicle's telemetry as stored by the fleet component (read-only; works across server instances). */
export interface RentalTelemetryPort {
  latestState(vehicleId: string): Promise<LatestVehicleState | null>;
  /** samples received in [fromMs, toMs], oldest first */
  samples(vehicleId: string, fromMs: number, toMs: number): Promise<UsageSample[]>;
  /** operating zones (a rental may end inside) and no-parking zones (it may not), read now */
  endZones(): Promise<EndZone[]>;
}

/**
 * The customer driver: a population of simulated customers living through the real customer API (`/v1`) while
 * the simulation's cars follow them. Each customer signs up (or logs in again), submits a driver licence (the
 * licence provider verifies it), adds a payment method, then repeatedly: thinks, searches nearby available cars,
 * reserves one (walks to it; sometimes cancels) or books a window, starts the rental (payment hold; the car
 * acknowledges the unlock), has the simulated car drive the trip (`requestTrip`, a stop-over now and then,
 * `requestPark`), ends the rental once the car is parked (fixing blockers the way a driver would), and reads the
 * receipt. Errors a real app meets are handled, never thrown: 409 → another car, 503/429 → after Retry-After,
 * no answer → back off and try again.
 *
 * Only the simulation's on-demand cars (`Simulation.onDemandVehicleIds`) are rented: the driver must be able to
 * make the car it rents move. Decisions (think times, trips, reserve or book, which car) come from one seeded
 * stream per customer: the same seed gives the same choices (HTTP timing still varies).
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { confirmationToken, sandboxMailboxFile, type SandboxMail } from '../../src/shared/sandbox-mailbox.js';
import { backoffDelay, type Backoff } from '../../src/shared/backoff.js';
import { DEFAULT_SERVICE_AREA, type ServiceArea } from '../../src/shared/service-area.js';
import type { SimulationLogger } from '../device-connection.js';
import { createRng, deriveSeed, randomIndex, uniform, type Rng } from '../prng.js';
import type { Simulation } from '../simulation.js';
import { CustomerApi, type ApiAnswer } from './customer-api.js';

/** A range in ms, drawn uniformly. */
export type Range = readonly [number, number];

export interface CustomerTiming {
  /** before the first search (spreads the start) */
  firstThinkMs: Range;
  /** between two rentals */
  thinkMs: Range;
  /** from the reservation to the rental start (walking to the car) */
  walkMs: Range;
  /** a booking's window starts this far ahead */
  bookingLeadMs: Range;
  /** a booking's window length (the API wants 15 min – 7 days) */
  bookingWindowMs: Range;
  /** driving time of a trip (a stop-over adds to it) */
  tripMs: Range;
  /** a stop-over in the middle of a trip (parked, still rented) */
  stopoverMs: Range;
  /** from parking to ending the rental in the app (getting out, taking one's things) */
  getOutMs: Range;
}

/**
 * Compressed so that a fresh demo shows every state within two minutes: a customer's cycle (think, walk, trip,
 * stop-over, get out) averages about 2½ minutes, so about half the customers are renting at any moment, some
 * hold a reservation or a booking, and rentals complete from the second minute on. First searches are spread
 * over two minutes, so a fresh demo does not start with every customer renting at once.
 */
export const DEMO_TIMING: CustomerTiming = {
  firstThinkMs: [0, 120_000],
  thinkMs: [10_000, 60_000],
  walkMs: [5_000, 30_000],
  bookingLeadMs: [30_000, 90_000],
  bookingWindowMs: [30 * 60_000, 90 * 60_000],
  tripMs: [30_000, 120_000],
  stopoverMs: [10_000, 40_000],
  getOutMs: [2_000, 6_000],
};

/** The mails delivered to an address, oldest first. */
export type MailboxReader = (address: string) => Promise<SandboxMail[]>;

/** The sandbox mailbox the server writes under its data directory (src/shared/sandbox-mailbox.ts). */
export function mailboxDirReader(dir: string): MailboxReader {
  return async (address) => {
    const text = await readFile(join(dir, sandboxMailboxFile(address)), 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as SandboxMail);
  };
}

export interface CustomerDriverOptions {
  /** the server's base URL, e.g. http://127.0.0.1:4310 */
  apiUrl: string;
  sim: Simulation;
  customers: number;
  /** seed of the customers' decisions (default 1) */
  seed?: number;
  timing?: Partial<CustomerTiming>;
  /** share of rentals that start from a booked window instead of a reservation (default 0.2) */
  bookShare?: number;
  /** share of reservations given up (cancelled) before the rental (default 0.05) */
  cancelShare?: number;
  /** share of trips with a stop-over (default 0.25) */
  stopoverShare?: number;
  /** sign-ups are spread by this much per customer (default 150 ms) */
  signUpSpacingMs?: number;
  /** where customers look for cars (default DEFAULT_SERVICE_AREA) */
  area?: ServiceArea;
  /**
   * the mails to an address (the server's sandbox mailbox, `mailboxDirReader($DATA_DIR/sandbox-mailbox)`): a new
   * customer reads the confirmation code of their sign-up there, as a person reads their mail; without it, only
   * accounts that exist already sign in
   */
  mailbox?: MailboxReader;
  /** first customer number (default 1): emails are `sim-customer-<seed>-<n>@fleetdesk.test` */
  firstCustomer?: number;
  logger?: SimulationLogger;
}

/** What the customers did, counted when the server answered. */
export interface CustomerDriverStats {
  customers: number;
  signedUp: number;
  /** accounts that existed already (a restarted demo: the sign-up mailed a notice instead of a code): logged in instead */
  loggedIn: number;
  /** driver licences the customers waited for until the provider verified them */
  licencesVerified: number;
  searches: number;
  reservations: number;
  bookings: number;
  /** reservations or bookings cancelled by the customer */
  cancelled: number;
  /** 409 vehicle_unavailable (or another car conflict) on reserve/book: another car was picked */
  conflicts: number;
  rentalsStarted: number;
  rentalsEnded: number;
  /** rentals found ended by someone else (support on the customer's behalf) */
  rentalsEndedByStaff: number;
  /** ended rentals whose receipt shows the payment captured */
  receiptsCaptured: number;
  /** rental starts that failed and were given up (with the code as the key) */
  startFailures: Record<string, number>;
  /** rental ends refused with blockers, by blocker code (then fixed and retried) */
  endBlocked: Record<string, number>;
  /** requests repeated after 503/429/no answer/504 */
  retries: number;
  /** answers nobody expected (counted, logged, the customer starts over) */
  unexpected: number;
  trips: number;
  /** customers now: idle, holding a reservation, holding a booking, in a rental */
  now: { idle: number; reserved: number; booked: number; renting: number };
}

export interface CustomerDriver {
  stats(): CustomerDriverStats;
  /** Stops every customer at their next step (requests in flight finish); rentals and holds stay as they are. */
  stop(): Promise<void>;
}

type Phase = keyof CustomerDriverStats['now'];

const RETRY: Backoff = { initialMs: 1_000, maxMs: 30_000 };
const PARK_WAIT_MS = 60_000;
const RECEIPT_WAIT_MS = 30_000;
/** how long a new customer waits for the sign-up's mail */
const MAIL_WAIT_MS = 30_000;

export function startCustomerDriver(options: CustomerDriverOptions): CustomerDriver {
  return new Driver(options);
}

class Stopped extends Error {}

class Driver implements CustomerDriver {
  readonly timing: CustomerTiming;
  readonly area: ServiceArea;
  readonly drivable: Set<string>;
  readonly logger: SimulationLogger | undefined;
  readonly counters: Omit<CustomerDriverStats, 'now' | 'customers'>;
  private readonly phases: Phase[];
  private readonly runs: Promise<void>[];
  private readonly wakers = new Set<() => void>();
  stopped = false;

  constructor(readonly o: CustomerDriverOptions) {
    if (!Number.isInteger(o.customers) || o.customers < 0) throw new RangeError(`customers must be an integer ≥ 0 (got ${o.customers})`);
    this.timing = { ...DEMO_TIMING, ...o.timing };
    this.area = o.area ?? DEFAULT_SERVICE_AREA;
    this.drivable = new Set(o.sim.onDemandVehicleIds);
    this.logger = o.logger;
    this.counters = {
      signedUp: 0,
      loggedIn: 0,
      licencesVerified: 0,
      searches: 0,
      reservations: 0,
      bookings: 0,
      cancelled: 0,
      conflicts: 0,
      rentalsStarted: 0,
      rentalsEnded: 0,
      rentalsEndedByStaff: 0,
      receiptsCaptured: 0,
      startFailures: {},
      endBlocked: {},
      retries: 0,
      unexpected: 0,
      trips: 0,
    };
    this.phases = Array.from({ length: o.customers }, () => 'idle' as const);
    const seed = o.seed ?? 1;
    const first = o.firstCustomer ?? 1;
    this.runs = this.phases.map((_, i) => {
      const customer = new SimCustomer(this, i, first + i, createRng(deriveSeed(seed ^ 0xc0ffee, first + i)), seed);
      return customer.run().catch((err: unknown) => {
        if (!(err instanceof Stopped)) this.logger?.error('customers: a customer failed', { customer: first + i, error: String(err) });
      });
    });
  }

  setPhase(i: number, phase: Phase): void {
    this.phases[i] = phase;
  }

  stats(): CustomerDriverStats {
    const now = { idle: 0, reserved: 0, booked: 0, renting: 0 };
    for (const p of this.phases) now[p]++;
    return {
      ...this.counters,
      startFailures: { ...this.counters.startFailures },
      endBlocked: { ...this.counters.endBlocked },
      customers: this.phases.length,
      now,
    };
  }

  /** Waits `ms`, or throws `Stopped` once the driver stops. */
  async sleep(ms: number): Promise<void> {
    if (this.stopped) throw new Stopped();
    await new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, Math.max(0, ms));
      this.wakers.add(wake);
    });
    if (this.stopped) throw new Stopped();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of [...this.wakers]) wake();
    await Promise.all(this.runs);
  }
}

interface FoundCar {
  vehicleId: string;
}

/** One simulated customer: a loop over the journey, with its own API session and random stream. */
class SimCustomer {
  private readonly api: CustomerApi;
  private readonly email: string;
  private readonly password: string;

  constructor(
    private readonly d: Driver,
    private readonly index: number,
    private readonly number: number,
    private readonly rng: Rng,
    seed: number,
  ) {
    this.api = new CustomerApi(d.o.apiUrl);
    this.email = `sim-customer-${seed}-${number}@fleetdesk.test`;
    // Demo customers only: derived from the seed so a restarted demo can log in again.
    this.password = `sim-${seed}-${number}-${Math.floor(rng() * 1e12).toString(36)}-pass`;
  }

  private get c(): Driver['counters'] {
    return this.d.counters;
  }

  private range(r: readonly [number, number]): number {
    return uniform(this.rng, r[0], r[1]);
  }

  async run(): Promise<void> {
    await this.d.sleep(this.index * (this.d.o.signUpSpacingMs ?? 150));
    await this.signIn();
    await this.resume();
    await this.d.sleep(this.range(this.d.timing.firstThinkMs));
    for (;;) {
      await this.oneRental();
      this.d.setPhase(this.index, 'idle');
      await this.d.sleep(this.range(this.d.timing.thinkMs));
    }
  }

  /**
   * Repeats a request while the answer says "later": no answer, 429, 503 (with or without Retry-After), a 502/504
   * without a problem code (a proxy). Every other answer — the server's own 502/504 problems included — is the
   * caller's to handle.
   */
  private async withRetry<T>(what: () => Promise<ApiAnswer<T>>): Promise<ApiAnswer<T>> {
    for (let attempt = 1; ; attempt++) {
      const res = await what();
      const later =
        res.status === 0 ||
        res.status === 429 ||
        res.status === 503 ||
        ((res.status === 502 || res.status === 504) && res.code === undefined);
      if (!later) return res;
      this.c.retries++;
      await this.d.sleep(res.retryAfterMs ?? backoffDelay(attempt, { ...RETRY, jitter: { fixed: 0.5, random: 0.5 }, random: this.rng }));
    }
  }

  private unexpected(what: string, res: ApiAnswer<unknown>): void {
    this.c.unexpected++;
    this.d.logger?.warn('customers: unexpected answer', { customer: this.number, what, status: res.status, code: res.code ?? '' });
  }

  // ---------------------------------------------------------------------------------------------- account

  /**
   * Signs up like a person: the answer is the same whether or not the address has an account, the mail tells —
   * a confirmation code (new: confirm it, signed in) or a notice that the address is taken (a restarted demo: log in).
   */
  private async signIn(): Promise<void> {
    for (;;) {
      const since = Date.now();
      const signup = await this.withRetry(() =>
        this.api.publicCall('POST', '/v1/auth/signup', {
          body: {
            email: this.email,
            password: this.password,
            name: `Sim Customer ${this.number}`,
            phone: `+49301${String(this.number).padStart(6, '0')}`,
          },
        }),
      );
      if (signup.status !== 202) {
        this.unexpected('signup', signup);
        await this.d.sleep(10_000);
        continue;
      }
      const mail = await this.awaitMail(since);
      const token = mail?.kind === 'verify_email' ? confirmationToken(mail.body) : undefined;
      const session = await this.withRetry(() =>
        token
          ? this.api.publicCall<{ accessToken: string; refreshToken: string }>('POST', '/v1/auth/verify-email', {
              body: { email: this.email, token },
            })
          : this.api.publicCall<{ accessToken: string; refreshToken: string }>('POST', '/v1/auth/login', {
              body: { email: this.email, password: this.password },
            }),
      );
      if (session.status !== 200) {
        this.unexpected(token ? 'verify-email' : 'login', session);
        await this.d.sleep(10_000);
        continue;
      }
      if (token) this.c.signedUp++;
      else this.c.loggedIn++;
      this.api.session = { accessToken: session.body.accessToken, refreshToken: session.body.refreshToken };
      break;
    }
    await this.ensureLicence();
    await this.ensurePaymentMethod();
  }

  /** The newest mail to this customer since `since` in the sandbox mailbox (polled for a while), or undefined. */
  private async awaitMail(since: number): Promise<SandboxMail | undefined> {
    const mailbox = this.d.o.mailbox;
    if (mailbox === undefined) return undefined;
    const deadline = Date.now() + MAIL_WAIT_MS;
    while (!this.d.stopped && Date.now() < deadline) {
      const mails = (await mailbox(this.email)).filter((m) => m.sentAt >= since - 1_000);
      if (mails.length > 0) return mails.at(-1);
      await this.d.sleep(250);
    }
    return undefined;
  }

  private async ensureLicence(): Promise<void> {
    for (let waited = false; ; waited = true) {
      const me = await this.withRetry(() => this.api.call<{ licence: { status: string } | null }>('GET', '/v1/me'));
      const status = me.body.licence?.status;
      if (status === 'verified') {
        if (waited) this.c.licencesVerified++;
        return;
      }
      if (status !== 'pending') {
        const expiresOn = new Date(Date.now() + 3 * 365 * 86_400_000).toISOString().slice(0, 10);
        const put = await this.withRetry(() =>
          this.api.call('PUT', '/v1/me/driver-licence', {
            body: { number: `SIM${String(this.number).padStart(8, '0')}`, country: 'DE', expiresOn },
          }),
        );
        if (put.status !== 202) this.unexpected('licence', put);
      }
      await this.d.sleep(500);
    }
  }

  private async ensurePaymentMethod(): Promise<void> {
    const list = await this.withRetry(() => this.api.call<{ paymentMethods?: unknown[] }>('GET', '/v1/me/payment-methods'));
    if (list.status === 200 && (list.body.paymentMethods?.length ?? 0) > 0) return;
    for (;;) {
      const pm = await this.withRetry(() => this.api.call('POST', '/v1/me/payment-methods', { body: { token: 'tok_sandbox_ok' } }));
      if (pm.status === 201) return;
      this.unexpected('payment method', pm);
      await this.d.sleep(10_000);
    }
  }

  /** A restarted demo: a rental left active is ended (its car is parked now), a hold left open is cancelled. */
  private async resume(): Promise<void> {
    const rentals = await this.withRetry(() =>
      this.api.call<{ rentals: Array<{ rentalId: string; vehicleId: string }> }>('GET', '/v1/rentals?status=active'),
    );
    for (const r of rentals.body.rentals ?? []) {
      this.c.rentalsStarted++; // counted here so that started − ended stays the number of active rentals
      this.d.setPhase(this.index, 'renting');
      await this.endRental(r.rentalId, r.vehicleId);
    }
    const held = await this.withRetry(() =>
      this.api.call<{ reservations: Array<{ reservationId: string }> }>('GET', '/v1/reservations?status=held'),
    );
    for (const r of held.body.reservations ?? []) await this.cancel(`/v1/reservations/${r.reservationId}`);
    const booked = await this.withRetry(() =>
      this.api.call<{ bookings: Array<{ bookingId: string }> }>('GET', '/v1/bookings?status=confirmed'),
    );
    for (const b of booked.body.bookings ?? []) await this.cancel(`/v1/bookings/${b.bookingId}`);
    this.d.setPhase(this.index, 'idle');
  }

  private async cancel(path: string): Promise<void> {
    const res = await this.withRetry(() => this.api.call('DELETE', path));
    if (res.status < 300) this.c.cancelled++;
    else if (res.status !== 404 && res.status !== 409) this.unexpected('cancel', res);
  }

  // ---------------------------------------------------------------------------------------------- journey

  private async oneRental(): Promise<void> {
    const book = this.rng() < (this.d.o.bookShare ?? 0.2);
    const claim = book ? await this.book() : await this.reserve();
    if (!claim) return;
    const rental = await this.startRental(claim);
    if (!rental) return;
    await this.drive(rental.vehicleId);
    await this.d.sleep(this.range(this.d.timing.getOutMs));
    await this.endRental(rental.rentalId, rental.vehicleId);
  }

  /** Nearby available cars this simulation can drive, nearest first. */
  private async search(): Promise<FoundCar[]> {
    // somewhere in the middle 80 % of the area (its corners lie outside the operating zone)
    const [sw, ne] = this.d.area.bounds;
    const lat = sw.lat + (ne.lat - sw.lat) * uniform(this.rng, 0.1, 0.9);
    const lon = sw.lon + (ne.lon - sw.lon) * uniform(this.rng, 0.1, 0.9);
    for (const radiusM of [1_500, 5_000]) {
      this.c.searches++;
      const res = await this.withRetry(() =>
        this.api.publicCall<{ vehicles: FoundCar[] }>('GET', `/v1/vehicles/available?lat=${lat}&lon=${lon}&radiusM=${radiusM}&limit=30`),
      );
      if (res.status !== 200) {
        this.unexpected('search', res);
        return [];
      }
      const cars = res.body.vehicles.filter((v) => this.d.drivable.has(v.vehicleId));
      if (cars.length > 0) return cars;
    }
    return [];
  }

  /** Up to three tries: one of the few nearest cars each time (two customers often want the same one). */
  private async pickAndClaim(claim: (vehicleId: string) => Promise<ApiAnswer<Record<string, unknown>>>): Promise<ApiAnswer | undefined> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const cars = await this.search();
      if (cars.length === 0) return undefined;
      const car = cars[randomIndex(this.rng, Math.min(5, cars.length))]!;
      const res = await this.withRetry(() => claim(car.vehicleId));
      if (res.status === 201) return res;
      if (res.status === 409 && res.code === 'vehicle_unavailable') {
        this.c.conflicts++;
        continue;
      }
      if (res.status === 409 && (res.code === 'reservation_limit' || res.code === 'booking_limit')) {
        await this.resume(); // a hold we lost track of: give it up, start over
        return undefined;
      }
      // claiming a car needs a verified licence and a payment method (issue 13 §4): one that lapsed is renewed
      if (res.code === 'licence_not_verified') {
        await this.ensureLicence();
        continue;
      }
      if (res.code === 'payment_method_required') {
        await this.ensurePaymentMethod();
        continue;
      }
      this.unexpected('claim', res);
      return undefined;
    }
    return undefined;
  }

  private async reserve(): Promise<{ reservationId: string } | undefined> {
    const res = await this.pickAndClaim((vehicleId) => this.api.call('POST', '/v1/reservations', { body: { vehicleId } }));
    if (!res) return undefined;
    this.c.reservations++;
    this.d.setPhase(this.index, 'reserved');
    const reservationId = res.body.reservationId as string;
    await this.d.sleep(this.range(this.d.timing.walkMs));
    if (this.rng() < (this.d.o.cancelShare ?? 0.05)) {
      await this.cancel(`/v1/reservations/${reservationId}`);
      return undefined;
    }
    return { reservationId };
  }

  private async book(): Promise<{ bookingId: string } | undefined> {
    const lead = this.range(this.d.timing.bookingLeadMs);
    const startsAt = Date.now() + lead;
    const endsAt = startsAt + this.range(this.d.timing.bookingWindowMs);
    const res = await this.pickAndClaim((vehicleId) =>
      this.api.call('POST', '/v1/bookings', {
        body: { vehicleId, startsAt: new Date(startsAt).toISOString(), endsAt: new Date(endsAt).toISOString() },
      }),
    );
    if (!res) return undefined;
    this.c.bookings++;
    this.d.setPhase(this.index, 'booked');
    const bookingId = res.body.bookingId as string;
    // at the car shortly before or after the window opens
    await this.d.sleep(Math.max(0, startsAt - Date.now() + uniform(this.rng, -lead / 3, 5_000)));
    return { bookingId };
  }

  private async startRental(
    source: { reservationId: string } | { bookingId: string },
  ): Promise<{ rentalId: string; vehicleId: string } | undefined> {
    const key = randomUUID();
    const sourcePath = 'reservationId' in source ? `/v1/reservations/${source.reservationId}` : `/v1/bookings/${source.bookingId}`;
    for (let attempt = 1; attempt <= 4; attempt++) {
      const res = await this.withRetry(() =>
        this.api.call<{ rentalId: string; vehicleId: string }>('POST', '/v1/rentals', { body: source, idempotencyKey: key }),
      );
      if (res.status === 201) {
        this.c.rentalsStarted++;
        this.d.setPhase(this.index, 'renting');
        return { rentalId: res.body.rentalId, vehicleId: res.body.vehicleId };
      }
      // the car did not confirm the unlock in time (reservation kept), or another start is still running (this
      // key's first request after our timeout, or a start of the same reservation): try again
      if (
        res.code === 'unlock_not_acknowledged' ||
        res.code === 'rental_start_in_progress' ||
        res.code === 'idempotency_request_in_flight'
      ) {
        this.c.retries++;
        await this.d.sleep(res.retryAfterMs ?? backoffDelay(attempt, RETRY));
        continue;
      }
      this.c.startFailures[res.code ?? String(res.status)] = (this.c.startFailures[res.code ?? String(res.status)] ?? 0) + 1;
      if (res.code === 'unlock_failed' || res.code === 'payment_declined') await this.cancel(sourcePath);
      else if (res.code === 'licence_not_verified') await this.ensureLicence();
      else if (res.code === 'payment_method_required') await this.ensurePaymentMethod();
      else if (res.code === 'customer_blocked')
        await this.d.sleep(5 * 60_000); // support blocked us: nothing to do for a while
      else if (res.status !== 404 && res.status !== 409) this.unexpected('rental start', res);
      return undefined;
    }
    this.c.startFailures.unlock_not_acknowledged = (this.c.startFailures.unlock_not_acknowledged ?? 0) + 1;
    await this.cancel(sourcePath);
    return undefined;
  }

  /** The trip: the car drives, maybe stops over (parked, still rented), and parks. */
  private async drive(vehicleId: string): Promise<void> {
    this.c.trips++;
    const { timing } = this.d;
    const tripMs = this.range(timing.tripMs);
    const stopover = this.rng() < (this.d.o.stopoverShare ?? 0.25) ? this.range(timing.stopoverMs) : 0;
    const legs = stopover > 0 ? [tripMs * uniform(this.rng, 0.3, 0.7)] : [tripMs];
    if (stopover > 0) legs.push(tripMs - legs[0]!);
    for (const [i, leg] of legs.entries()) {
      if (!(await this.startDriving(vehicleId))) return; // the car will not go (immobilized): the customer gives up
      await this.d.sleep(leg);
      await this.parkAndWait(vehicleId);
      if (i < legs.length - 1) await this.d.sleep(stopover);
    }
  }

  private async startDriving(vehicleId: string): Promise<boolean> {
    for (let i = 0; i < 10; i++) {
      if (this.d.o.sim.requestTrip(vehicleId)) return true;
      await this.d.sleep(1_000); // still getting out of the last leg, or immobilized
    }
    return false;
  }

  /** Asks the car to park and waits until it is parked (doors closed, ignition off). */
  private async parkAndWait(vehicleId: string): Promise<void> {
    const sim = this.d.o.sim;
    sim.requestPark(vehicleId);
    const deadline = Date.now() + PARK_WAIT_MS;
    while (sim.snapshot(vehicleId).state.phase !== 'parked' && Date.now() < deadline) {
      sim.requestPark(vehicleId); // driving again after a stop at an intersection? brake again
      await this.d.sleep(500);
    }
  }

  private async endRental(rentalId: string, vehicleId: string): Promise<void> {
    const key = randomUUID();
    for (let attempt = 1; ; attempt++) {
      const res = await this.withRetry(() =>
        this.api.call<{ blockers?: Array<{ code: string }> }>('POST', `/v1/rentals/${rentalId}/end`, { idempotencyKey: key }),
      );
      if (res.status === 200) {
        this.c.rentalsEnded++;
        this.d.setPhase(this.index, 'idle');
        await this.readReceipt(rentalId);
        return;
      }
      if (res.status === 409 && res.code === 'rental_end_blocked') {
        for (const b of res.body.blockers ?? []) this.c.endBlocked[b.code] = (this.c.endBlocked[b.code] ?? 0) + 1;
        // Fix what the app says: stop and switch off, close the doors (parking does both); otherwise (telemetry
        // not fresh, car offline) wait for the car to report again.
        await this.parkAndWait(vehicleId);
        await this.d.sleep(backoffDelay(attempt, { initialMs: 2_000, maxMs: 30_000 }));
        continue;
      }
      if (res.status === 404 || res.status === 409) {
        // Ended by someone else (support), or gone: read what the server has.
        const detail = await this.withRetry(() => this.api.call<{ rental?: { status: string } }>('GET', `/v1/rentals/${rentalId}`));
        if (detail.body.rental?.status === 'ended') {
          this.c.rentalsEnded++;
          this.c.rentalsEndedByStaff++;
          this.d.setPhase(this.index, 'idle');
          return;
        }
      }
      this.unexpected('rental end', res);
      await this.d.sleep(backoffDelay(attempt, RETRY));
    }
  }

  /** The receipt once the capture went through (the payments outbox runs in the background). */
  private async readReceipt(rentalId: string): Promise<void> {
    const deadline = Date.now() + RECEIPT_WAIT_MS;
    while (Date.now() < deadline) {
      const res = await this.withRetry(() =>
        this.api.call<{ payment: { status: string } | null }>('GET', `/v1/rentals/${rentalId}/receipt`),
      );
      if (res.status === 200 && res.body.payment?.status === 'captured') {
        this.c.receiptsCaptured++;
        return;
      }
      await this.d.sleep(1_000);
    }
  }
}

/**
 * The support requests' default ports: the staff API itself, called in-process (Fastify `inject`, no socket) as
 * the staff member who submitted the request, with the request id as `Idempotency-Key`. So a refund, an ended
 * rental or a block queued on a desktop runs through exactly the route an online call would — its validation,
 * its permission check, its audit entry, its idempotency replay — and the sync component depends only on the
 * staff API's published contract, not on the other components' internals:
 *
 *   refund            POST /ops/v1/rentals/{id}/refunds   {amountCents, reason}             (payments)
 *   end_rental        POST /ops/v1/rentals/{id}/end       {reason, overrideBlockers?}       (bookings/rentals)
 *   block / unblock   POST /ops/v1/customers/{id}/block|unblock {reason}                    (customers)
 *   extend_booking    POST /ops/v1/bookings/{id}/extend   {endsAt, reason}                  (bookings, staff extend)
 *   cancel_booking    POST /ops/v1/bookings/{id}/cancel   {reason}                          (bookings, staff cancel)
 *
 * The token is minted here for that staff member and role (short-lived, never leaves the process): the
 * request was authorised when it was pushed with their own token. Answers: 2xx → done (a small summary),
 * 4xx → refused with the route's problem code and detail, 5xx → a server-side failure (kept pending, retried).
 *
 * The booking routes honour the `Idempotency-Key` (the request id) like the others, but a key's stored answer
 * can be missing after a crash between the use case's commit and storing it: a run again is then answered
 * `not_an_extension` / `not_cancellable`, and the port reads the booking and answers done when it already is as
 * asked (extend: it ends at exactly `endsAt`; cancel: cancelled by this staff member with this reason).
 */
import { AppError } from '../../../../../src/shared/errors.js';
import type { Actor } from '../../../platform/http/actor.js';
import type { SupportPorts } from './requests.js';

export interface InjectResponse {
  statusCode: number;
  body: string;
}
export interface StaffApiDeps {
  /** Fastify's inject on the server's own routes (undefined until the routes are registered) */
  inject: () =>
    | ((opts: { method: 'GET' | 'POST'; url: string; headers: Record<string, string>; payload?: string }) => Promise<InjectResponse>)
    | undefined;
  /** a short-lived staff token for this actor */
  issueToken(actor: Actor): Promise<string>;
  /** where the staff API lives (default /ops/v1) */
  prefix?: string;
}

export function supportPortsViaStaffApi(deps: StaffApiDeps): SupportPorts {
  const prefix = deps.prefix ?? '/ops/v1';
  /** POST with a body and an Idempotency-Key; without `body`, a GET (a read, no key). */
  const call = async (
    actor: Actor,
    path: string,
    body?: Record<string, unknown>,
    idempotencyKey?: string,
  ): Promise<Record<string, unknown>> => {
    const inject = deps.inject();
    if (!inject) throw new AppError('not_ready', 'the staff API is not up yet', { status: 503 });
    const token = await deps.issueToken(actor);
    const res = await inject(
      body === undefined
        ? { method: 'GET', url: `${prefix}${path}`, headers: { authorization: `Bearer ${token}` } }
        : {
            method: 'POST',
            url: `${prefix}${path}`,
            headers: {
              authorization: `Bearer ${token}`,
              'content-type': 'application/json',
              ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
            },
            payload: JSON.stringify(body),
          },
    );
    let json: Record<string, unknown> = {};
    try {
      json = res.body ? (JSON.parse(res.body) as Record<string, unknown>) : {};
    } catch {
      /* not JSON */
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return json;
    const code = typeof json.code === 'string' ? json.code : `http_${res.statusCode}`;
    const detail =
      typeof json.detail === 'string'
        ? json.detail
        : typeof json.title === 'string'
          ? json.title
          : `the staff API answered ${res.statusCode}`;
    throw new AppError(code, detail, { status: res.statusCode });
  };
  const id = (s: string) => encodeURIComponent(s);
  return {
    refund: async (i) =>
      pick(await call(i.actor, `/rentals/${id(i.rentalId)}/refunds`, { amountCents: i.amountCents, reason: i.reason }, i.idempotencyKey), [
        'refundId',
        'rentalId',
        'amountCents',
        'currency',
        'status',
      ]),
    endRental: async (i) =>
      pick(
        await call(
          i.actor,
          `/rentals/${id(i.rentalId)}/end`,
          { reason: i.reason, ...(i.overrideBlockers ? { overrideBlockers: true } : {}) },
          i.idempotencyKey,
        ),
        ['rentalId', 'status', 'endedAt', 'totalCents', 'currency'],
      ),
    setCustomerBlocked: async (i) =>
      pick(
        await call(i.actor, `/customers/${id(i.customerId)}/${i.blocked ? 'block' : 'unblock'}`, { reason: i.reason }, i.idempotencyKey),
        ['customerId', 'status'],
      ),
    extendBooking: async (i) => {
      try {
        return bookingSummary(
          await call(i.actor, `/bookings/${id(i.bookingId)}/extend`, { endsAt: i.endsAt, reason: i.reason }, i.idempotencyKey),
        );
      } catch (err) {
        if (!(err instanceof AppError && err.code === 'not_an_extension')) throw err;
        const now = await call(i.actor, `/bookings/${id(i.bookingId)}`);
        if (now.status === 'confirmed' && typeof now.endsAt === 'string' && Date.parse(now.endsAt) === Date.parse(i.endsAt))
          return { ...bookingSummary(now), note: 'the booking already ends then' };
        throw err;
      }
    },
    cancelBooking: async (i) => {
      try {
        return bookingSummary(await call(i.actor, `/bookings/${id(i.bookingId)}/cancel`, { reason: i.reason }, i.idempotencyKey));
      } catch (err) {
        if (!(err instanceof AppError && err.code === 'not_cancellable')) throw err;
        const now = await call(i.actor, `/bookings/${id(i.bookingId)}`);
        if (now.status === 'cancelled' && now.cancelledBy === i.actor.id && now.cancelReason === i.reason)
          return { ...bookingSummary(now), note: 'already cancelled (by the same staff member, with the same reason)' };
        throw err;
      }
    },
  };
}

/** The staff API's booking view, kept small: which booking, its status and end. */
function bookingSummary(body: Record<string, unknown>): Record<string, unknown> {
  const { id, ...rest } = pick(body, ['id', 'kind', 'status', 'endsAt']);
  return { bookingId: id, ...rest };
}

/** What the desktop shows of the answer (it replicates to every desktop: keep it small). */
function pick(body: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (body[k] !== undefined && (typeof body[k] !== 'object' || body[k] === null)) out[k] = body[k];
  return out;
}

/**
 * Rental routes. Customer (`/v1`, own rentals only — another customer's id answers 404): start, end, list, read,
 * receipt, damage reports (multipart). Staff (`/ops/v1`, support/admin): list, detail with the evidence, the end
 * check without ending, damage photos (streamed, never a public URL), end on the customer's behalf (reason;
 * blockers overridable, audited).
 */
import { createReadStream } from 'node:fs';
import multipart from '@fastify/multipart';
import { type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../../../../src/shared/errors.js';
import { requestActor } from '../../../platform/http/actor.js';
import { problem, PROBLEM_CONTENT_TYPE } from '../../../platform/http/problem.js';
import { staffCan } from '../../../platform/http/route-config.js';
import {
  MAX_PHOTO_BYTES,
  MAX_PHOTOS,
  MAX_TEXT_LENGTH,
  RentalEndBlockedError,
  type DamageReportPart,
  type Rentals,
} from '../domain/rentals.js';
import {
  CustomerRentalsQuery,
  DamagePhotoParams,
  DamageReportSchema,
  RentalDetailResponse,
  RentalEndBlockedProblem,
  RentalEndCheckResponse,
  RentalEndedResponse,
  RentalIdParams,
  RentalListResponse,
  RentalStartedResponse,
  ReceiptSchema,
  StaffEndBody,
  StaffRentalDetailResponse,
  StaffRentalEndedResponse,
  StaffRentalListResponse,
  StaffRentalsQuery,
  StaffStartAttemptsQuery,
  StaffStartAttemptsResponse,
  StartRentalBody,
} from './rentals.schema.js';

const CUSTOMER_TAGS = ['rentals'];
const STAFF_TAGS = ['staff: rentals'];

function customerIdOf(request: FastifyRequest): string {
  const p = request.principal;
  if (p?.kind !== 'customer') throw new AppError('unauthorized', 'sign in as a customer', { status: 401 });
  return p.customerId;
}

/** The end-blocked problem carries the list of blockers (RFC 9457 extension member). */
function endBlockedProblem(err: RentalEndBlockedError, instance: string) {
  return { ...problem(409, err.code, err.message, instance), status: 409 as const, blockers: err.blockers };
}

export function rentalCustomerRoutes(rentals: Rentals): FastifyPluginAsyncTypebox {
  return async (app) => {
    // Encapsulated in this plugin: multipart parsing exists only for the damage-report route's scope.
    await app.register(multipart, {
      limits: {
        fileSize: MAX_PHOTO_BYTES,
        files: MAX_PHOTOS,
        fields: 4,
        fieldSize: MAX_TEXT_LENGTH * 4,
        parts: MAX_PHOTOS + 4,
        headerPairs: 100,
      },
    });

    app.post(
      '/rentals',
      {
        config: { auth: 'customer', idempotent: true },
        schema: {
          tags: CUSTOMER_TAGS,
          summary: 'Start a rental: payment hold, unlock, wait for the car',
          description:
            'Requires a verified driver licence and a payment method. Places a payment hold, sends the unlock command and waits for the car to confirm it. ' +
            'If the car does not confirm in time: 504 `unlock_not_acknowledged` (502 `unlock_failed` when it answered that it could not unlock; 503 `vehicle_unreachable` with Retry-After while the server cannot reach the cars at all, its broker being down); the hold is released and the reservation kept.',
          body: StartRentalBody,
          response: { 201: RentalStartedResponse },
        },
      },
      async (request, reply) => {
        const customerId = customerIdOf(request);
        const { reservationId, bookingId } = request.body;
        const started = await rentals.start(
          reservationId !== undefined ? { customerId, reservationId } : { customerId, bookingId: bookingId! },
        );
        return reply
          .code(201)
          .header('location', `/v1/rentals/${encodeURIComponent(started.rentalId)}`)
          .send(started);
      },
    );

    app.get(
      '/rentals',
      {
        config: { auth: 'customer' },
        schema: {
          tags: CUSTOMER_TAGS,
          summary: 'Your rentals, newest first',
          querystring: CustomerRentalsQuery,
          response: { 200: RentalListResponse },
        },
      },
      async (request) => ({ rentals: await rentals.listForCustomerOwn(customerIdOf(request), request.query) }),
    );

    app.get(
      '/rentals/:id',
      {
        config: { auth: 'customer' },
        schema: {
          tags: CUSTOMER_TAGS,
          summary: 'One of your rentals (with its receipt once ended)',
          params: RentalIdParams,
          response: { 200: RentalDetailResponse },
        },
      },
      async (request) => rentals.getForCustomer(customerIdOf(request), request.params.id),
    );

    app.get(
      '/rentals/:id/receipt',
      {
        config: { auth: 'customer' },
        schema: {
          tags: CUSTOMER_TAGS,
          summary: 'The receipt of an ended rental',
          params: RentalIdParams,
          response: { 200: ReceiptSchema },
        },
      },
      async (request) => rentals.receiptForCustomer(customerIdOf(request), request.params.id),
    );

    app.post(
      '/rentals/:id/end',
      {
        config: { auth: 'customer', idempotent: true },
        schema: {
          tags: CUSTOMER_TAGS,
          summary: 'End your rental: price, payment capture, lock',
          description:
            'Judged from the car’s latest telemetry: it must be inside the operating zone, doors closed, ignition off. Otherwise 409 `rental_end_blocked` lists the `blockers`. ' +
            'On success the price is computed and stored, the payment captured, and the lock command sent (its acknowledgement is reported in `lock`). Ending an ended rental answers the same result again.',
          params: RentalIdParams,
          response: { 200: RentalEndedResponse, 409: RentalEndBlockedProblem },
        },
      },
      async (request, reply) => {
        try {
          const ended = await rentals.end(request.params.id, { kind: 'customer', customerId: customerIdOf(request) });
          return reply.code(200).send(ended);
        } catch (err) {
          if (err instanceof RentalEndBlockedError)
            return reply.code(409).type(PROBLEM_CONTENT_TYPE).send(endBlockedProblem(err, request.url));
          throw err;
        }
      },
    );

    app.post(
      '/rentals/:id/damage-reports',
      {
        config: { auth: 'customer' },
        schema: {
          tags: CUSTOMER_TAGS,
          summary: 'Report damage: text and up to 6 photos (multipart/form-data)',
          description: `Fields: \`text\` (1–${MAX_TEXT_LENGTH} characters) and up to ${MAX_PHOTOS} files of at most ${MAX_PHOTO_BYTES / 1024 / 1024} MB each, JPEG, PNG or WebP (checked by content). 413 / 415 / 400 on violations; nothing is stored then.`,
          params: RentalIdParams,
          consumes: ['multipart/form-data'],
          response: { 201: DamageReportSchema },
        },
      },
      async (request, reply) => {
        const customerId = customerIdOf(request);
        if (!request.isMultipart())
          throw new AppError('multipart_required', 'send the report as multipart/form-data (field "text" and photo files)', {
            status: 415,
          });
        try {
          const report = await rentals.createDamageReport({ rentalId: request.params.id, customerId, parts: multipartParts(request) });
          return reply.code(201).send(report);
        } finally {
          // whatever was not read (a refused upload) is discarded, so the client gets its answer
          request.raw.resume();
        }
      },
    );
  };
}

export function rentalStaffRoutes(rentals: Rentals): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/rentals',
      {
        config: { auth: staffCan('rental.read') },
        schema: {
          tags: STAFF_TAGS,
          summary: 'Rentals by customer, vehicle and status, newest first',
          querystring: StaffRentalsQuery,
          response: { 200: StaffRentalListResponse },
        },
      },
      async (request) => ({ rentals: await rentals.listForStaff(request.query) }),
    );

    app.get(
      '/rentals/start-attempts',
      {
        config: { auth: staffCan('rental.read') },
        schema: {
          tags: STAFF_TAGS,
          summary: 'A customer’s starts that failed (payment hold refused, unlock not confirmed…), newest first',
          description:
            'Each failed start kept its reservation or booking and voided its hold; this is what the customer tried and why it did not work. A reservation or booking keeps its first 50.',
          querystring: StaffStartAttemptsQuery,
          response: { 200: StaffStartAttemptsResponse },
        },
      },
      async (request) => ({ startAttempts: await rentals.startAttemptsOfCustomer(request.query.customerId, request.query.limit) }),
    );

    app.get(
      '/rentals/:id',
      {
        config: { auth: staffCan('rental.read') },
        schema: {
          tags: STAFF_TAGS,
          summary: 'A rental with its payments summary and evidence (commands, price, damage reports, audit)',
          params: RentalIdParams,
          response: { 200: StaffRentalDetailResponse },
        },
      },
      async (request) => rentals.staffDetail(request.params.id),
    );

    app.get(
      '/rentals/:id/end-check',
      {
        config: { auth: staffCan('rental.read') },
        schema: {
          tags: STAFF_TAGS,
          summary: 'Could the rental end here and now? The end check, without ending',
          description:
            'Judged from the car’s latest telemetry by the same rule as the end: outside the operating zone, doors open, ignition on, moving, no fresh telemetry. Nothing is written.',
          params: RentalIdParams,
          response: { 200: RentalEndCheckResponse },
        },
      },
      async (request) => {
        const check = await rentals.endCheck(request.params.id);
        return {
          ...check,
          checkedAt: new Date(check.checkedAt).toISOString(),
          telemetryAt: check.telemetryAt === null ? null : new Date(check.telemetryAt).toISOString(),
        };
      },
    );

    app.get(
      '/rentals/:id/damage-reports/:reportId/photos/:n',
      {
        config: { auth: staffCan('rental.read') },
        schema: {
          tags: STAFF_TAGS,
          summary: 'A damage report’s photo (JPEG, PNG or WebP, as the customer sent it)',
          description:
            'Staff only, never a public URL. `n` counts from 1 (the report’s `photos[].index`). A report of another rental, or an index it does not have, answers 404.',
          params: DamagePhotoParams,
          produces: ['image/jpeg', 'image/png', 'image/webp'],
        },
      },
      async (request, reply) => {
        const { id, reportId, n } = request.params;
        const photo = await rentals.damagePhoto(id, reportId, n);
        const stream = createReadStream(photo.path);
        // a missing file (removed by hand) is a 404, not a broken stream
        await new Promise<void>((resolve, reject) => {
          stream.once('open', () => resolve());
          stream.once('error', (err) =>
            reject(
              new AppError('damage_photo_not_found', `photo ${n} of damage report ${reportId} is missing`, { status: 404, cause: err }),
            ),
          );
        });
        return reply
          .type(photo.contentType)
          .header('content-length', photo.bytes)
          .header('cache-control', 'private, no-store')
          .header('x-content-type-options', 'nosniff')
          .header('content-disposition', `inline; filename="damage-${reportId}-${n}"`)
          .send(stream);
      },
    );

    app.post(
      '/rentals/:id/end',
      {
        config: { auth: staffCan('rental.end'), idempotent: true },
        schema: {
          tags: STAFF_TAGS,
          summary: 'End a rental on the customer’s behalf (audited with the reason)',
          description:
            'Blockers (outside the zone, doors open, ignition on, no fresh telemetry) refuse it with 409 unless `overrideBlockers` is true; an override is audited with the blockers overridden.',
          params: RentalIdParams,
          body: StaffEndBody,
          response: { 200: StaffRentalEndedResponse, 409: RentalEndBlockedProblem },
        },
      },
      async (request, reply) => {
        const actor = requestActor(request);
        try {
          const ended = await rentals.end(request.params.id, {
            kind: 'staff',
            actor,
            reason: request.body.reason.trim(),
            overrideBlockers: request.body.overrideBlockers === true,
          });
          const detail = await rentals.staffDetail(request.params.id);
          return reply.code(200).send({ ...ended, rental: detail.rental });
        } catch (err) {
          if (err instanceof RentalEndBlockedError)
            return reply.code(409).type(PROBLEM_CONTENT_TYPE).send(endBlockedProblem(err, request.url));
          throw err;
        }
      },
    );
  };
}

/**
 * The request's multipart parts as the domain wants them. No `return()` on purpose: when the domain stops early
 * (a refused photo), the parts are still there to be drained, so the upload is read to its end.
 */
function multipartParts(request: FastifyRequest): AsyncIterable<DamageReportPart> {
  const parts = request.parts()[Symbol.asyncIterator]();
  return {
    [Symbol.asyncIterator]: () => ({
      async next(): Promise<IteratorResult<DamageReportPart>> {
        let r: IteratorResult<Awaited<ReturnType<typeof parts.next>>['value']>;
        try {
          r = await parts.next();
        } catch (err) {
          throw multipartError(err);
        }
        if (r.done) return { done: true, value: undefined };
        const part = r.value;
        if (part.type === 'file') {
          return { done: false, value: { kind: 'file', name: part.fieldname, stream: part.file, truncated: () => part.file.truncated } };
        }
        return {
          done: false,
          value: { kind: 'field', name: part.fieldname, value: String(part.value ?? ''), truncated: part.valueTruncated },
        };
      },
    }),
  };
}

function multipartError(err: unknown): unknown {
  const code = (err as { code?: string }).code;
  switch (code) {
    case 'FST_REQ_FILE_TOO_LARGE':
      return new AppError('photo_too_large', `photos are limited to ${MAX_PHOTO_BYTES / 1024 / 1024} MB each`, { status: 413, cause: err });
    case 'FST_FILES_LIMIT':
      return new AppError('too_many_photos', `at most ${MAX_PHOTOS} photos per report`, { status: 413, cause: err });
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return new AppError('too_many_parts', 'too many form fields', { status: 413, cause: err });
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return new AppError('multipart_required', 'send the report as multipart/form-data', { status: 415, cause: err });
    case 'FST_PROTO_VIOLATION':
    case 'FST_INVALID_JSON_FIELD_ERROR':
      return new AppError('invalid_multipart', 'malformed form field', { status: 400, cause: err });
  }
  if (err instanceof AppError) return err;
  // busboy: truncated or malformed multipart bodies
  return new AppError('invalid_multipart', `malformed multipart body: ${err instanceof Error ? err.message : String(err)}`, {
    status: 400,
    cause: err,
  });
}

/**
 * Use case: a customer reports damage on their own rental (active or ended): a text and up to 6 photos. Photos are
 * streamed to disk while their size and SHA-256 are measured; their type is decided by the file's magic bytes
 * (JPEG, PNG, WebP), never by the declared content type or name. All or nothing: a violation, a broken upload or
 * a failed insert removes every file this request wrote.
 *
 * Layout: `<root>/damage-reports/<rentalId>/<reportId>-<n>.<ext>`; the database row lists the files.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../../../platform/private-files.js';
import type { Readable } from 'node:stream';
import { AppError } from '../../../../../src/shared/errors.js';
import type { DamagePhoto, DamageReportRow } from '../data/rentals.repository.js';
import type { RentalsContext } from './rentals-context.js';

export const MAX_PHOTOS = 6;
export const MAX_PHOTO_BYTES = 5 * 1024 * 1024;
export const MAX_TEXT_LENGTH = 4000;
/** reports per rental at most (disk is not free; a real case needs a handful) */
export const MAX_REPORTS_PER_RENTAL = 20;

/** A multipart part as the route hands it over (framework-neutral). */
export type DamageReportPart =
  | { kind: 'field'; name: string; value: string; truncated: boolean }
  | { kind: 'file'; name: string; stream: Readable; /** true once the stream ended because the size limit cut it */ truncated(): boolean };

export interface DamageReportView {
  reportId: string;
  rentalId: string;
  text: string;
  photos: Array<{ index: number; contentType: string; bytes: number; sha256: string }>;
  createdAt: string;
}

type ImageType = { contentType: 'image/jpeg' | 'image/png' | 'image/webp'; ext: 'jpg' | 'png' | 'webp' };

/** The image type from the first bytes, or null. */
export function sniffImageType(head: Uint8Array): ImageType | null {
  const at = (i: number) => head[i];
  if (head.length >= 3 && at(0) === 0xff && at(1) === 0xd8 && at(2) === 0xff) return { contentType: 'image/jpeg', ext: 'jpg' };
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (head.length >= 8 && png.every((b, i) => at(i) === b)) return { contentType: 'image/png', ext: 'png' };
  const ascii = (from: number, to: number) => String.fromCharCode(...head.subarray(from, to));
  if (head.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return { contentType: 'image/webp', ext: 'webp' };
  return null;
}

const SAFE_ID = /^[A-Za-z0-9_-]{1,100}$/;

export class DamageReportStore {
  constructor(private readonly root: () => Promise<string>) {}

  async dirFor(rentalId: string): Promise<string> {
    // ids are ours (uuids), but a path is built from it: refuse anything that could leave the directory
    if (!SAFE_ID.test(rentalId)) throw new AppError('invalid_rental_id', 'invalid rental id', { status: 400 });
    // customers' photos: only the server's user reads them
    const reports = await ensurePrivateDir(join(await this.root(), 'damage-reports'));
    return ensurePrivateDir(join(reports, rentalId));
  }
}

export async function createDamageReport(
  ctx: RentalsContext,
  store: DamageReportStore,
  a: { rentalId: string; customerId: string; parts: AsyncIterable<DamageReportPart> },
): Promise<DamageReportView> {
  const rental = await ctx.claims.getRental(ctx.repo.database, a.rentalId, { customerId: a.customerId });
  if (!rental) {
    // the request body must still be drained, or the client waits on a half-read upload
    await drain(a.parts);
    throw new AppError('rental_not_found', `no rental ${a.rentalId}`, { status: 404 });
  }
  if ((await ctx.customers.eligibility(a.customerId)).blocked) {
    await drain(a.parts);
    throw new AppError('customer_blocked', 'your account is blocked; contact support', { status: 403 });
  }
  if ((await ctx.repo.countDamageReports(rental.id)) >= MAX_REPORTS_PER_RENTAL) {
    await drain(a.parts);
    throw new AppError('too_many_damage_reports', `at most ${MAX_REPORTS_PER_RENTAL} damage reports per rental; call support`, {
      status: 409,
    });
  }

  const reportId = randomUUID();
  const dir = await store.dirFor(rental.id);
  const written: string[] = [];
  const photos: Array<DamagePhoto & { index: number }> = [];
  let text: string | null = null;
  try {
    for await (const part of a.parts) {
      if (part.kind === 'field') {
        if (part.name !== 'text')
          throw new AppError('unexpected_field', `unexpected field "${part.name}" (expected "text" and photo files)`, { status: 400 });
        if (text !== null) throw new AppError('invalid_damage_report', 'one "text" field only', { status: 400 });
        if (part.truncated || part.value.length > MAX_TEXT_LENGTH)
          throw new AppError('text_too_long', `text is limited to ${MAX_TEXT_LENGTH} characters`, { status: 400 });
        text = part.value;
        continue;
      }
      if (photos.length >= MAX_PHOTOS) throw new AppError('too_many_photos', `at most ${MAX_PHOTOS} photos per report`, { status: 413 });
      const index = photos.length + 1;
      const partial = join(dir, `.${reportId}-${index}.part`);
      written.push(partial);
      const saved = await savePhoto(part.stream, partial);
      if (part.truncated() || saved.bytes > MAX_PHOTO_BYTES)
        throw new AppError('photo_too_large', `photo ${index} is larger than ${MAX_PHOTO_BYTES / 1024 / 1024} MB`, { status: 413 });
      if (!saved.type)
        throw new AppError('unsupported_photo_type', `photo ${index} is not a JPEG, PNG or WebP image (judged by its content)`, {
          status: 415,
        });
      if (saved.bytes === 0) throw new AppError('invalid_damage_report', `photo ${index} is empty`, { status: 400 });
      const file = `${reportId}-${index}.${saved.type.ext}`;
      await rename(partial, join(dir, file));
      written[written.length - 1] = join(dir, file);
      photos.push({ index, file, contentType: saved.type.contentType, bytes: saved.bytes, sha256: saved.sha256 });
    }
    const trimmed = text?.trim() ?? '';
    if (trimmed === '') throw new AppError('text_required', 'describe the damage in the "text" field', { status: 400 });
    const createdAt = ctx.now();
    await ctx.repo.insertDamageReport({
      id: reportId,
      rentalId: rental.id,
      customerId: a.customerId,
      text: trimmed,
      photos: photos.map(({ file, contentType, bytes, sha256 }) => ({ file, contentType, bytes, sha256 })),
      createdAt,
    });
    ctx.log.info('damage report stored', {
      rentalId: rental.id,
      reportId,
      photos: photos.length,
      bytes: photos.reduce((s, p) => s + p.bytes, 0),
    });
    return {
      reportId,
      rentalId: rental.id,
      text: trimmed,
      photos: photos.map(({ index, contentType, bytes, sha256 }) => ({ index, contentType, bytes, sha256 })),
      createdAt: new Date(createdAt).toISOString(),
    };
  } catch (err) {
    await Promise.all(written.map((f) => unlink(f).catch(() => undefined)));
    await drain(a.parts).catch(() => undefined);
    throw err;
  }
}

/** A stored photo as the staff route streams it: where it is, its type and size. */
export interface DamagePhotoFile {
  path: string;
  contentType: string;
  bytes: number;
}

/** The name the store gives a photo (`<reportId>-<n>.<ext>`): anything else in the row is never opened. */
const STORED_PHOTO = /^[A-Za-z0-9_-]{1,100}-[0-9]{1,2}\.(jpg|png|webp)$/;
const STORED_TYPES = new Set(['image/jpeg', 'image/png', 'image/webp']);

/**
 * Photo `n` (1-based) of report `reportId` of rental `rentalId`, for staff. A report of another rental, an unknown
 * report or index, or a row naming anything but a file the store wrote → 404: the path is only ever built from
 * checked ids and the stored name, inside the rental's own directory.
 */
export async function damagePhotoFile(
  ctx: RentalsContext,
  store: DamageReportStore,
  rentalId: string,
  reportId: string,
  n: number,
): Promise<DamagePhotoFile> {
  const notFound = () =>
    new AppError('damage_photo_not_found', `no photo ${n} in damage report ${reportId} of rental ${rentalId}`, { status: 404 });
  if (!SAFE_ID.test(rentalId) || !SAFE_ID.test(reportId) || !Number.isInteger(n) || n < 1) throw notFound();
  const report = await ctx.repo.getDamageReport(rentalId, reportId);
  const photo = report?.photos[n - 1];
  if (!photo || !STORED_PHOTO.test(photo.file) || !STORED_TYPES.has(photo.contentType)) throw notFound();
  const dir = await store.dirFor(rentalId);
  const path = join(dir, photo.file);
  if (dirname(path) !== dir) throw notFound();
  return { path, contentType: photo.contentType, bytes: photo.bytes };
}

export function damageReportView(r: DamageReportRow): DamageReportView {
  return {
    reportId: r.id,
    rentalId: r.rentalId,
    text: r.text,
    photos: r.photos.map((p, i) => ({ index: i + 1, contentType: p.contentType, bytes: p.bytes, sha256: p.sha256 })),
    createdAt: new Date(r.createdAt).toISOString(),
  };
}

/** Streams to `path`, hashing and counting; reads the first bytes for the type. Stops writing past the limit. */
async function savePhoto(stream: Readable, path: string): Promise<{ bytes: number; sha256: string; type: ImageType | null }> {
  const hash = createHash('sha256');
  const out = createWriteStream(path, { flags: 'wx', mode: PRIVATE_FILE_MODE });
  const outDone = new Promise<void>((resolve, reject) => {
    out.once('finish', resolve);
    out.once('error', reject);
  });
  let bytes = 0;
  let head = Buffer.alloc(0);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (head.length < 16) head = Buffer.concat([head, chunk.subarray(0, 16 - head.length)]);
      if (bytes > MAX_PHOTO_BYTES) continue; // keep reading (the request must be consumed), stop storing
      hash.update(chunk);
      if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', resolve));
    }
  } finally {
    out.end();
    await outDone;
  }
  return { bytes, sha256: hash.digest('hex'), type: sniffImageType(head) };
}

async function drain(parts: AsyncIterable<DamageReportPart>): Promise<void> {
  try {
    for await (const part of parts) if (part.kind === 'file') part.stream.resume();
  } catch {
    // the upload was broken anyway
  }
}

/** Removes a temporary root (an in-memory data dir's photos go with the database). */
export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

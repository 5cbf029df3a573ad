/**
 * Damage reports over HTTP (multipart): photos typed by their content, limits answered with 413/415/400 problems,
 * files on disk under <DATA_DIR>/damage-reports/<rentalId>/ with their size and SHA-256, and nothing left behind
 * by a refused upload. The rental is written straight into the database (starting one is the journey test's job).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../../app.js';
import { signUpCustomer, staffHeaders, type SignedUpCustomer } from '../../../testing/auth.js';
import { dbBackends } from '../../../testing/backends.js';
import { uniqueTestVehicles } from '../../../testing/devices.js';
import { insertActiveRental } from '../../../testing/writes.js';

const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2_000, 7)]);
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(1_500, 3)]);
const WEBP = Buffer.concat([Buffer.from('RIFF'), Buffer.from([0x10, 0, 0, 0]), Buffer.from('WEBPVP8 '), Buffer.alloc(800, 1)]);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Res {
  status: number;
  contentType: string | null;
  body: Record<string, unknown>;
}

describe.each(dbBackends())('rental damage reports on $name', (backend) => {
  let server: ServerHandle;
  let cleanup: () => Promise<void>;
  let dataDir: string;
  let owner: SignedUpCustomer;
  let rentalId: string;
  let umask: number;

  beforeAll(async () => {
    // the most permissive umask: what the server creates must still be private (issue 13 §8)
    umask = process.umask(0);
    const created = await backend.create();
    cleanup = created.cleanup;
    dataDir = await mkdtemp(join(tmpdir(), 'fleetdesk-damage-test-'));
    server = await startServer({
      ...created.overrides,
      dataDir,
      port: 0,
      mqttPort: 0,
      mqttUrl: undefined,
      mqttAuth: 'off',
      seedVehicles: 0,
      logLevel: 'silent',
      licenceSandboxLatencyMs: 20,
    });
    const [vehicle] = uniqueTestVehicles(1);
    await server.registerVehicles([vehicle!]);
    owner = await signUpCustomer(server);
    rentalId = await insertActiveRental(server.db, vehicle!.id, owner.customerId);
  });

  afterAll(async () => {
    process.umask(umask);
    await server?.stop();
    await cleanup?.();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const mode = async (...path: string[]) => ((await stat(join(dataDir, ...path))).mode & 0o777).toString(8);

  async function report(form: FormData, headers: Record<string, string> = owner.headers, id = rentalId): Promise<Res> {
    const res = await fetch(`${server.httpUrl}/v1/rentals/${id}/damage-reports`, { method: 'POST', headers, body: form });
    const text = await res.text();
    return {
      status: res.status,
      contentType: res.headers.get('content-type'),
      body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    };
  }
  function form(text: string | null, photos: Array<{ data: Buffer; type: string; name: string }>): FormData {
    const f = new FormData();
    if (text !== null) f.append('text', text);
    for (const p of photos) f.append('photos', new Blob([p.data], { type: p.type }), p.name);
    return f;
  }
  const storedFiles = async () => (await readdir(join(dataDir, 'damage-reports', rentalId)).catch(() => [] as string[])).sort();
  const expectProblem = (res: Res, status: number, code: string) => {
    expect({ status: res.status, code: res.body.code }).toEqual({ status, code });
    expect(res.contentType).toMatch(/^application\/problem\+json/);
  };

  it('stores text and photos typed by content, with size and SHA-256, under the data directory', async () => {
    // the declared types are wrong on purpose: the content decides
    const res = await report(
      form('Scratch on the rear bumper', [
        { data: JPEG, type: 'application/octet-stream', name: 'a.bin' },
        { data: PNG, type: 'image/jpeg', name: 'b.jpg' },
        { data: WEBP, type: 'image/png', name: 'c.png' },
      ]),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const reportId = res.body.reportId as string;
    expect(res.body).toMatchObject({
      rentalId,
      text: 'Scratch on the rear bumper',
      photos: [
        { index: 1, contentType: 'image/jpeg', bytes: JPEG.length, sha256: sha256(JPEG) },
        { index: 2, contentType: 'image/png', bytes: PNG.length, sha256: sha256(PNG) },
        { index: 3, contentType: 'image/webp', bytes: WEBP.length, sha256: sha256(WEBP) },
      ],
    });
    expect(await storedFiles()).toEqual([`${reportId}-1.jpg`, `${reportId}-2.png`, `${reportId}-3.webp`]);
    expect(sha256(await readFile(join(dataDir, 'damage-reports', rentalId, `${reportId}-3.webp`)))).toBe(sha256(WEBP));
    // customers' photos and the data directory are the server user's alone, whatever the umask
    expect(await mode('damage-reports', rentalId, `${reportId}-1.jpg`)).toBe('600');
    expect([await mode('damage-reports'), await mode('damage-reports', rentalId), await mode()]).toEqual(['700', '700', '700']);
    if (backend.name === 'pglite') expect(await mode('pglite')).toBe('700');

    const support = await staffHeaders(server, 'support');
    const detail = await fetch(`${server.httpUrl}/ops/v1/rentals/${rentalId}`, { headers: support }).then(
      (r) => r.json() as Promise<{ evidence: { damageReports: Array<{ reportId: string }> } }>,
    );
    expect(detail.evidence.damageReports.map((d) => d.reportId)).toEqual([reportId]);
  });

  it('refuses violations with a problem and keeps nothing of the refused upload', async () => {
    const before = await storedFiles();
    const text = Buffer.from('this is not an image at all, whatever the name says');
    expectProblem(
      await report(
        form('x', [
          { data: JPEG, type: 'image/jpeg', name: 'ok.jpg' },
          { data: text, type: 'image/jpeg', name: 'fake.jpg' },
        ]),
      ),
      415,
      'unsupported_photo_type',
    );
    const seven = Array.from({ length: 7 }, (_, i) => ({ data: JPEG, type: 'image/jpeg', name: `p${i}.jpg` }));
    expectProblem(await report(form('seven photos', seven)), 413, 'too_many_photos');
    const big = Buffer.concat([JPEG, Buffer.alloc(5 * 1024 * 1024 + 1, 9)]);
    expectProblem(
      await report(
        form('too big', [
          { data: PNG, type: 'image/png', name: 'small.png' },
          { data: big, type: 'image/jpeg', name: 'big.jpg' },
        ]),
      ),
      413,
      'photo_too_large',
    );
    expectProblem(await report(form(null, [{ data: JPEG, type: 'image/jpeg', name: 'a.jpg' }])), 400, 'text_required');
    expectProblem(await report(form('   ', []), owner.headers), 400, 'text_required');
    expectProblem(await report(form('y'.repeat(4_001), [])), 400, 'text_too_long');
    const withOtherField = form('text', []);
    withOtherField.append('admin', 'true');
    expectProblem(await report(withOtherField), 400, 'unexpected_field');
    expect(await storedFiles()).toEqual(before);

    // not multipart, or not JSON either
    const json = await fetch(`${server.httpUrl}/v1/rentals/${rentalId}/damage-reports`, {
      method: 'POST',
      headers: { ...owner.headers, 'content-type': 'application/json' },
      body: '{"text":"x"}',
    });
    expect(json.status).toBe(415);
    const truncated = await fetch(`${server.httpUrl}/v1/rentals/${rentalId}/damage-reports`, {
      method: 'POST',
      headers: { ...owner.headers, 'content-type': 'multipart/form-data; boundary=XYZ' },
      body: '--XYZ\r\nContent-Disposition: form-data; name="text"\r\n\r\nhalf a bod',
    });
    expect(truncated.status).toBeGreaterThanOrEqual(400);
    expect(truncated.status).toBeLessThan(500);
    expect(await storedFiles()).toEqual(before);
  });

  it("another customer's rental or an unknown one is not found", async () => {
    const stranger = await signUpCustomer(server);
    expectProblem(
      await report(form('mine now', [{ data: JPEG, type: 'image/jpeg', name: 'a.jpg' }]), stranger.headers),
      404,
      'rental_not_found',
    );
    expectProblem(await report(form('x', []), owner.headers, 'no-such-rental'), 404, 'rental_not_found');
    expect((await report(form('x', []), {})).status).toBe(401);
  });

  it('a rental is read back by its owner only, and listed', async () => {
    const own = await fetch(`${server.httpUrl}/v1/rentals/${rentalId}`, { headers: owner.headers });
    expect(own.status).toBe(200);
    expect(((await own.json()) as { rental: { status: string }; receipt: unknown }).receipt).toBeNull();
    const receipt = await fetch(`${server.httpUrl}/v1/rentals/${rentalId}/receipt`, { headers: owner.headers });
    expect(receipt.status).toBe(409);
  });
});

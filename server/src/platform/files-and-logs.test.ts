/**
 * Files and logs (issue 13 §8), on the platform pieces themselves: private files and directories whatever the umask,
 * secrets redacted by the logger, /metrics and /docs closed in production mode (token or nothing), 5xx answers
 * without internal messages. The damage photos, the PGlite directory and the sandbox ledger are checked where they are
 * made (rentals.routes.test.ts, payment-sandbox.contract.test.ts).
 */
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../src/shared/errors.js';
import { createHttpServer, type HttpApp } from './http/index.js';
import { createLogger } from './log.js';
import { createPlatformMetrics } from './metrics.js';
import { ensurePrivateDir, writePrivateFile } from './private-files.js';

const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe('private files', () => {
  let dir: string;
  let umask: number;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetdesk-private-'));
    umask = process.umask(0);
  });
  afterAll(async () => {
    process.umask(umask);
    await rm(dir, { recursive: true, force: true });
  });

  it('makes directories 0700 and files 0600 under a umask of 0, and tightens ones that already exist', async () => {
    await ensurePrivateDir(join(dir, 'new', 'nested'));
    expect([await mode(join(dir, 'new')), await mode(join(dir, 'new', 'nested'))]).toEqual([0o700, 0o700]);
    await mkdir(join(dir, 'old'), { mode: 0o755 });
    await writeFile(join(dir, 'old', 'file'), 'x', { mode: 0o644 });
    await ensurePrivateDir(join(dir, 'old'));
    await writePrivateFile(join(dir, 'old', 'file'), 'y');
    await writePrivateFile(join(dir, 'old', 'fresh'), 'z');
    expect([await mode(join(dir, 'old')), await mode(join(dir, 'old', 'file')), await mode(join(dir, 'old', 'fresh'))]).toEqual([
      0o700, 0o600, 0o600,
    ]);
  });
});

describe('logger redaction', () => {
  it('never writes a password, refresh token, API key or secret, at the top level or one level down', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk.toString());
        callback();
      },
    });
    const log = createLogger({ level: 'info', destination });
    const secrets = { password: 'pw-1', refreshToken: 'rt-2', apiKey: 'ak-3', accessToken: 'at-4', webhookSecret: 'ws-5' };
    log.info('login', { ...secrets, email: 'a@example.test' });
    log.warn('provider call', { request: { ...secrets }, status: 401 });
    const text = lines.join('');
    for (const value of Object.values(secrets)) expect(text).not.toContain(value);
    expect(text).toContain('a@example.test');
    expect(JSON.parse(lines[0]!)).toMatchObject({ password: '[redacted]', refreshToken: '[redacted]', apiKey: '[redacted]' });
    expect(JSON.parse(lines[1]!).request).toMatchObject({ refreshToken: '[redacted]', apiKey: '[redacted]' });
  });
});

describe('operational endpoints and 5xx answers', () => {
  const token = 'an-operations-token-of-32-characters-or-more';
  const log = createLogger({ level: 'silent' });
  const apps: HttpApp[] = [];
  async function app(opsEndpoints?: { production: boolean; token?: string }): Promise<HttpApp> {
    const http = createHttpServer({ log, metrics: createPlatformMetrics(), readiness: {}, ...(opsEndpoints ? { opsEndpoints } : {}) });
    http.get('/v1/boom', { config: { auth: 'public' } }, async () => {
      throw new AppError('tariff_missing', 'No tariff for the type of vehicle car-0042 (table pricing.tariffs)', { status: 500 });
    });
    http.get('/v1/crash', { config: { auth: 'public' } }, async () => {
      throw new Error('connect ECONNREFUSED 10.1.2.3:5432');
    });
    await http.ready();
    apps.push(http);
    return http;
  }
  afterAll(() => Promise.all(apps.map((a) => a.close())));

  const status = (http: HttpApp, url: string, authorization?: string) =>
    http.inject({ url, ...(authorization ? { headers: { authorization } } : {}) }).then((r) => r.statusCode);

  it('development (npm start): /metrics and /docs open', async () => {
    const http = await app({ production: false });
    expect([await status(http, '/metrics'), await status(http, '/openapi.json'), await status(http, '/docs/')]).toEqual([200, 200, 200]);
  });

  it('production: closed without OPS_TOKEN; with it, only for its bearer', async () => {
    const closed = await app({ production: true });
    expect([await status(closed, '/metrics'), await status(closed, '/docs'), await status(closed, '/openapi.json')]).toEqual([
      404, 404, 404,
    ]);
    expect(await status(closed, '/health')).toBe(200);
    const guarded = await app({ production: true, token });
    expect(await status(guarded, '/metrics')).toBe(401);
    expect(await status(guarded, '/metrics', 'Bearer not-the-token')).toBe(401);
    expect(await status(guarded, '/docs/static/index.html', `Bearer ${token}x`)).toBe(401);
    expect([await status(guarded, '/metrics', `Bearer ${token}`), await status(guarded, '/openapi.json', `Bearer ${token}`)]).toEqual([
      200, 200,
    ]);
  });

  it('a 500 answers a fixed sentence, never the internal message', async () => {
    const http = await app();
    for (const url of ['/v1/boom', '/v1/crash']) {
      const res = await http.inject({ url });
      expect(res.statusCode).toBe(500);
      expect(res.json()).toMatchObject({ code: 'internal', detail: 'An unexpected error occurred.' });
      expect(res.body).not.toMatch(/car-0042|pricing|ECONNREFUSED|10\.1\.2\.3/);
    }
  });
});

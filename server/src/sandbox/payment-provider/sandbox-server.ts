/**
 * The sandbox payment provider: a separate HTTP service with its own ledger, so that the payments component
 * meets real network faults (latency, timeouts, dropped connections, 5xx) and real refusals. It speaks the
 * provider wire contract documented in server/README.md ("Payments"):
 *
 *   POST /v1/payment_methods {token}                    → 201 payment method
 *   POST /v1/holds {paymentMethodId, amountCents, currency, reference}
 *                                                       → 201 hold (authorized) | 402 {error, hold} (declined)
 *   GET  /v1/holds?reference=…  GET /v1/holds/{id}      → find holds by the merchant's reference / by id
 *   POST /v1/holds/{id}/capture {amountCents}           → 200 hold (capture ≤ hold, once)
 *   POST /v1/holds/{id}/void                            → 200 hold
 *   POST /v1/holds/{id}/refunds {amountCents}           → 201 {refund, hold} (≤ captured − refunded)
 *   GET  /v1/ledger?after=&limit=                       → {holds, nextCursor} (reconciliation)
 *   GET  /v1/health;  GET|PATCH /sandbox/settings;  GET /sandbox/stats
 *
 * Every POST needs an `Idempotency-Key`: the same key with the same request returns the stored answer (also
 * after a timeout, when the operation was applied but the answer lost), with another request 400, while the
 * first is still being processed 409. Completed operations are announced by signed webhooks.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { ensurePrivateDir, writePrivateFile } from '../../platform/private-files.js';
import { checkSettings, DEFAULT_SANDBOX_SETTINGS, FaultPlan, type SandboxSettings } from './sandbox-faults.js';
import { SandboxError, SandboxLedger, SANDBOX_TOKENS, type LedgerEvent, type LedgerSnapshot, type SandboxHold } from './sandbox-ledger.js';
import { WebhookSender, type WebhookStats, type WebhookTarget } from './sandbox-webhooks.js';

export interface PaymentSandboxOptions {
  host?: string;
  /** 0 = a random free port */
  port?: number;
  /** required as `Authorization: Bearer <apiKey>` when set */
  apiKey?: string;
  /** where signed webhooks go; may be set later (setWebhookTarget) */
  webhook?: WebhookTarget;
  settings?: Partial<SandboxSettings>;
  /** keep the ledger in this JSON file (loaded at start, saved after changes); absent = in memory */
  ledgerFile?: string;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export interface SandboxStats {
  calls: number;
  /** POSTs answered from a stored answer (a retry of an idempotency key) */
  replays: number;
  injectedErrors: number;
  timeoutsApplied: number;
  timeoutsLost: number;
  inProgressConflicts: number;
  webhooks: WebhookStats;
}

export interface PaymentSandbox {
  /** http://host:port */
  url: string;
  settings(): SandboxSettings;
  updateSettings(patch: Partial<SandboxSettings>): SandboxSettings;
  setWebhookTarget(target: WebhookTarget | undefined): void;
  stats(): SandboxStats;
  /** the ledger as it is (tests, diagnostics) */
  holds(): SandboxHold[];
  close(): Promise<void>;
}

interface Answer {
  status: number;
  body: unknown;
}

interface Route {
  method: 'GET' | 'POST' | 'PATCH';
  pattern: RegExp;
  /** calls on a `tok_sandbox_flaky` method misbehave */
  flaky?(params: string[], body: Record<string, unknown>): boolean;
  run(params: string[], body: Record<string, unknown>, url: URL, key: string): Answer & { events?: LedgerEvent[] };
  /** not subject to faults or latency (operator controls) */
  control?: boolean;
}

const MAX_BODY = 64 * 1024;
const SAVE_DELAY_MS = 50;

export async function startPaymentSandbox(options: PaymentSandboxOptions = {}): Promise<PaymentSandbox> {
  const log = options.log ?? (() => undefined);
  let settings: SandboxSettings = { ...DEFAULT_SANDBOX_SETTINGS, ...checkSettings({ ...options.settings }) };
  const ledger = new SandboxLedger();
  if (options.ledgerFile) await loadLedger(ledger, options.ledgerFile);
  const faults = new FaultPlan(() => settings);
  const webhooks = new WebhookSender(options.webhook, log);
  const inProgress = new Set<string>();
  const hangs = new Set<() => void>();
  const counters = { calls: 0, replays: 0, injectedErrors: 0, timeoutsApplied: 0, timeoutsLost: 0, inProgressConflicts: 0 };

  let saveTimer: NodeJS.Timeout | undefined;
  let saving: Promise<void> = Promise.resolve();
  const save = () => {
    if (!options.ledgerFile) return;
    const file = options.ledgerFile;
    saving = saving
      .then(() => saveLedger(ledger.snapshot(), file))
      .catch((err: unknown) => log('saving the sandbox ledger failed', { reason: String(err) }));
  };
  const scheduleSave = () => {
    if (options.ledgerFile && !saveTimer) {
      saveTimer = setTimeout(() => {
        saveTimer = undefined;
        save();
      }, SAVE_DELAY_MS);
    }
  };

  const methodFlaky = (id: unknown) => typeof id === 'string' && ledger.methods.get(id)?.behaviour === 'flaky';
  const holdFlaky = (id: string | undefined) => id !== undefined && methodFlaky(ledger.holds.get(id)?.paymentMethodId);
  const publicHold = (h: SandboxHold) => {
    const { seq: _seq, ...rest } = h;
    return rest;
  };

  const routes: Route[] = [
    { method: 'GET', pattern: /^\/v1\/health$/, run: () => ({ status: 200, body: { status: 'ok' } }) },
    {
      method: 'POST',
      pattern: /^\/v1\/payment_methods$/,
      flaky: (_p, body) => typeof body.token === 'string' && SANDBOX_TOKENS[body.token]?.behaviour === 'flaky',
      run: (_p, body) => {
        const m = ledger.createPaymentMethod(body.token);
        return { status: 201, body: { id: m.id, brand: m.brand, last4: m.last4, createdAt: m.createdAt } };
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/payment_methods\/([^/]+)$/,
      flaky: ([id]) => methodFlaky(id),
      run: ([id]) => {
        const m = ledger.method(id!);
        return { status: 200, body: { id: m.id, brand: m.brand, last4: m.last4, createdAt: m.createdAt } };
      },
    },
    {
      method: 'POST',
      pattern: /^\/v1\/holds$/,
      flaky: (_p, body) => methodFlaky(body.paymentMethodId),
      run: (_p, body, _url, key) => {
        const method = typeof body.paymentMethodId === 'string' ? ledger.methods.get(body.paymentMethodId) : undefined;
        const declined = method?.behaviour === 'decline' || (method?.behaviour === 'flaky' && faults.declines(key));
        const { hold, event } = ledger.authorize(body as Parameters<SandboxLedger['authorize']>[0], key, declined);
        if (declined) {
          return {
            status: 402,
            body: { error: { type: 'card_error', code: 'card_declined', message: 'the card was declined' }, hold: publicHold(hold) },
            events: [event],
          };
        }
        return { status: 201, body: publicHold(hold), events: [event] };
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/holds$/,
      run: (_p, _b, url) => {
        const reference = url.searchParams.get('reference');
        if (!reference) throw new SandboxError(400, 'invalid_request_error', 'parameter_missing', 'reference is required');
        return { status: 200, body: { holds: ledger.holdsByReference(reference).map(publicHold) } };
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/holds\/([^/]+)$/,
      flaky: ([id]) => holdFlaky(id),
      run: ([id]) => ({ status: 200, body: publicHold(ledger.hold(id!)) }),
    },
    {
      method: 'POST',
      pattern: /^\/v1\/holds\/([^/]+)\/capture$/,
      flaky: ([id]) => holdFlaky(id),
      run: ([id], body, _url, key) => {
        const { hold, event } = ledger.capture(id!, body, key);
        return { status: 200, body: publicHold(hold), events: [event] };
      },
    },
    {
      method: 'POST',
      pattern: /^\/v1\/holds\/([^/]+)\/void$/,
      flaky: ([id]) => holdFlaky(id),
      run: ([id], _body, _url, key) => {
        const { hold, event } = ledger.void(id!, key);
        return { status: 200, body: publicHold(hold), events: [event] };
      },
    },
    {
      method: 'POST',
      pattern: /^\/v1\/holds\/([^/]+)\/refunds$/,
      flaky: ([id]) => holdFlaky(id),
      run: ([id], body, _url, key) => {
        const { hold, refund, event } = ledger.refund(id!, body, key);
        return { status: 201, body: { refund, hold: publicHold(hold) }, events: [event] };
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/ledger$/,
      run: (_p, _b, url) => {
        const after = Number(url.searchParams.get('after') ?? '0');
        const limit = Number(url.searchParams.get('limit') ?? '100');
        if (!Number.isInteger(after) || after < 0 || !Number.isInteger(limit) || limit < 1 || limit > 1000) {
          throw new SandboxError(400, 'invalid_request_error', 'parameter_invalid', 'after must be a cursor, limit 1–1000');
        }
        const page = ledger.list(after, limit);
        return { status: 200, body: { holds: page.holds.map(publicHold), nextCursor: page.nextCursor } };
      },
    },
    { method: 'GET', pattern: /^\/sandbox\/settings$/, control: true, run: () => ({ status: 200, body: settings }) },
    {
      method: 'PATCH',
      pattern: /^\/sandbox\/settings$/,
      control: true,
      run: (_p, body) => {
        try {
          settings = { ...settings, ...checkSettings(body) };
        } catch (err) {
          throw new SandboxError(400, 'invalid_request_error', 'parameter_invalid', (err as Error).message);
        }
        log('sandbox settings changed', { settings });
        return { status: 200, body: settings };
      },
    },
    { method: 'GET', pattern: /^\/sandbox\/stats$/, control: true, run: () => ({ status: 200, body: stats() }) },
  ];

  const stats = (): SandboxStats => ({ ...counters, webhooks: { ...webhooks.stats } });

  /** Holds the request until the client gives up or hangMs passes, then drops the connection: a timeout. */
  const hang = (req: IncomingMessage, res: ServerResponse): Promise<void> =>
    new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        hangs.delete(done);
        req.socket.destroy();
        resolve();
      };
      const timer = setTimeout(done, settings.hangMs);
      hangs.add(done);
      res.once('close', done);
    });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const method = req.method ?? 'GET';
    if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      throw new SandboxError(401, 'authentication_error', 'unauthorized', 'missing or wrong API key');
    }
    let params: string[] = [];
    const route = routes.find((r) => {
      if (r.method !== method) return false;
      const m = r.pattern.exec(url.pathname);
      if (m) params = m.slice(1).map(decodeURIComponent);
      return m !== null;
    });
    if (!route) throw new SandboxError(404, 'invalid_request_error', 'not_found', `no route ${method} ${url.pathname}`);
    const body = method === 'GET' ? {} : await readJson(req);
    if (route.control) return send(res, route.run(params, body, url, ''));

    counters.calls += 1;
    const mutation = method === 'POST';
    const key = mutation ? requireIdempotencyKey(req) : '';
    const identity = mutation ? `key:${key}` : `${method} ${url.pathname}${url.search}`;
    const fingerprint = mutation
      ? createHash('sha256')
          .update(`${method} ${url.pathname} ${canonicalJson(body)}`)
          .digest('hex')
      : '';
    const flaky = route.flaky?.(params, body) ?? false;

    // Marked before the latency: a retry arriving while the first is still being processed gets 409.
    if (mutation && inProgress.has(key)) {
      counters.inProgressConflicts += 1;
      throw new SandboxError(
        409,
        'idempotency_error',
        'request_in_progress',
        'a request with this idempotency key is still being processed',
      );
    }
    if (mutation) inProgress.add(key);
    let releaseKey = mutation;
    try {
      const latency = faults.latencyMs(identity);
      if (latency > 0) await sleep(latency);
      const decision = faults.decide(identity, flaky);
      if (decision === 'error') {
        counters.injectedErrors += 1;
        throw new SandboxError(503, 'api_error', 'service_unavailable', 'the sandbox is having a bad moment (injected fault)');
      }
      if (decision === 'timeout_lost') {
        // Never processed; the key stays busy until the connection is gone, as on a real stuck server.
        counters.timeoutsLost += 1;
        await hang(req, res);
        return;
      }
      const answer = mutation ? executeOnce(route, params, body, url, key, fingerprint) : runSafely(route, params, body, url);
      if (decision === 'timeout_applied') {
        counters.timeoutsApplied += 1;
        if (mutation) inProgress.delete(key);
        releaseKey = false;
        await hang(req, res);
        return;
      }
      send(res, answer);
    } finally {
      if (releaseKey) inProgress.delete(key);
    }
  }

  /** The stored answer for a known key, or the operation applied now and its answer stored. */
  function executeOnce(route: Route, params: string[], body: Record<string, unknown>, url: URL, key: string, fingerprint: string): Answer {
    const stored = ledger.answers.get(key);
    if (stored) {
      if (stored.fingerprint !== fingerprint) {
        throw new SandboxError(
          400,
          'idempotency_error',
          'idempotency_key_reused',
          'this idempotency key was used with a different request',
        );
      }
      counters.replays += 1;
      return { status: stored.status, body: stored.body };
    }
    const result = runSafely(route, params, body, url, key);
    // Refusals (4xx) are stored too, like Stripe: the same request gets the same answer.
    ledger.answers.set(key, { fingerprint, status: result.status, body: result.body });
    const at = new Date();
    for (const event of result.events ?? []) webhooks.emit(event, at);
    scheduleSave();
    return result;
  }

  function runSafely(
    route: Route,
    params: string[],
    body: Record<string, unknown>,
    url: URL,
    key = '',
  ): Answer & { events?: LedgerEvent[] } {
    try {
      // Answers are deep copies: the ledger keeps changing after a stored answer was taken.
      const result = route.run(params, body, url, key);
      return { ...result, body: structuredClone(result.body) };
    } catch (err) {
      if (err instanceof SandboxError && err.status < 500) return { status: err.status, body: err.toBody() };
      throw err;
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent || res.destroyed) return;
      if (err instanceof SandboxError) return send(res, { status: err.status, body: err.toBody() });
      log('sandbox request failed', { reason: err instanceof Error ? err.message : String(err) });
      send(res, { status: 500, body: { error: { type: 'api_error', code: 'internal', message: 'internal error' } } });
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`;
  log('payment sandbox listening', { url, ledgerFile: options.ledgerFile ?? null });

  let closing: Promise<void> | undefined;
  return {
    url,
    settings: () => ({ ...settings }),
    updateSettings(patch) {
      settings = { ...settings, ...checkSettings({ ...patch }) };
      return { ...settings };
    },
    setWebhookTarget: (target) => webhooks.setTarget(target),
    stats,
    holds: () => [...ledger.holds.values()].map((h) => structuredClone(h)),
    close: () =>
      (closing ??= (async () => {
        webhooks.close();
        for (const done of [...hangs]) done();
        clearTimeout(saveTimer);
        saveTimer = undefined;
        save();
        await saving;
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })()),
  };
}

function requireIdempotencyKey(req: IncomingMessage): string {
  const key = req.headers['idempotency-key'];
  if (typeof key !== 'string' || key.length < 1 || key.length > 255) {
    throw new SandboxError(
      400,
      'invalid_request_error',
      'idempotency_key_missing',
      'every POST needs an Idempotency-Key header (1–255 characters)',
    );
  }
  return key;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new SandboxError(413, 'invalid_request_error', 'body_too_large', `bodies are limited to ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new SandboxError(400, 'invalid_request_error', 'body_invalid', 'the body must be JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new SandboxError(400, 'invalid_request_error', 'body_invalid', 'the body must be a JSON object');
  return parsed as Record<string, unknown>;
}

function send(res: ServerResponse, answer: Answer): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify(answer.body);
  res.writeHead(answer.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Key order must not make two equal requests look different. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function loadLedger(ledger: SandboxLedger, file: string): Promise<void> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  ledger.restore(JSON.parse(text) as LedgerSnapshot);
}

/** Write-then-rename: a crash mid-save never leaves half a ledger. */
async function saveLedger(snapshot: LedgerSnapshot, file: string): Promise<void> {
  await ensurePrivateDir(dirname(file));
  await writePrivateFile(file, JSON.stringify(snapshot));
}

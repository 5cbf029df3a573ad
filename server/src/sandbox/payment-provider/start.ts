/**
 * `npm run sandbox:payments`: the sandbox payment provider as its own process. Point the server at it with
 * PAYMENT_PROVIDER_URL (+ the same PAYMENT_WEBHOOK_SECRET and PAYMENT_PROVIDER_API_KEY on both sides).
 *
 *   SANDBOX_HOST (127.0.0.1) SANDBOX_PORT (4330) SANDBOX_API_KEY SANDBOX_LEDGER_FILE (in memory when unset)
 *   SANDBOX_WEBHOOK_URL (http://127.0.0.1:4310/webhooks/payments) SANDBOX_WEBHOOK_SECRET (required for webhooks)
 *   SANDBOX_LATENCY_MS SANDBOX_LATENCY_JITTER_MS SANDBOX_HANG_MS SANDBOX_SEED and rates 0–1:
 *   SANDBOX_FLAKY_RATE (0.3) SANDBOX_TIMEOUT_RATE SANDBOX_ERROR_RATE SANDBOX_DECLINE_RATE SANDBOX_LOST_REPLY_RATE (0.5)
 */
import { checkSettings, type SandboxSettings } from './sandbox-faults.js';
import { startPaymentSandbox } from './sandbox-server.js';

const env = (name: string): string | undefined => {
  const value = process.env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
};

function settingsFromEnv(): Partial<SandboxSettings> {
  const numbers: Array<[string, keyof SandboxSettings]> = [
    ['SANDBOX_LATENCY_MS', 'latencyMs'],
    ['SANDBOX_LATENCY_JITTER_MS', 'latencyJitterMs'],
    ['SANDBOX_HANG_MS', 'hangMs'],
    ['SANDBOX_FLAKY_RATE', 'flakyRate'],
    ['SANDBOX_TIMEOUT_RATE', 'timeoutRate'],
    ['SANDBOX_ERROR_RATE', 'errorRate'],
    ['SANDBOX_DECLINE_RATE', 'declineRate'],
    ['SANDBOX_LOST_REPLY_RATE', 'lostReplyRate'],
  ];
  const patch: Record<string, unknown> = {};
  for (const [name, field] of numbers) {
    const raw = env(name);
    if (raw !== undefined) patch[field] = Number(raw);
  }
  const seed = env('SANDBOX_SEED');
  if (seed !== undefined) patch.seed = seed;
  try {
    return checkSettings(patch);
  } catch (err) {
    throw new Error(`Invalid sandbox configuration: ${(err as Error).message} (SANDBOX_* variables)`, { cause: err });
  }
}

async function main(): Promise<void> {
  const port = Number(env('SANDBOX_PORT') ?? '4330');
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error('Invalid sandbox configuration: SANDBOX_PORT must be an integer 0–65535');
  const secret = env('SANDBOX_WEBHOOK_SECRET');
  const log = (msg: string, fields: Record<string, unknown> = {}) =>
    console.log(JSON.stringify({ time: new Date().toISOString(), service: 'payment-sandbox', msg, ...fields }));
  const sandbox = await startPaymentSandbox({
    host: env('SANDBOX_HOST') ?? '127.0.0.1',
    port,
    apiKey: env('SANDBOX_API_KEY'),
    ledgerFile: env('SANDBOX_LEDGER_FILE'),
    settings: settingsFromEnv(),
    webhook: secret ? { url: env('SANDBOX_WEBHOOK_URL') ?? 'http://127.0.0.1:4310/webhooks/payments', secret } : undefined,
    log,
  });
  if (!secret) log('SANDBOX_WEBHOOK_SECRET not set: no webhooks will be sent');
  log('payment sandbox ready', { url: sandbox.url, settings: sandbox.settings() });
  const stop = () => {
    sandbox.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});

/**
 * Contract tests of the sandbox payment provider, through the payments component's HTTP adapter (the same code
 * the server uses): idempotency (also across timeouts), capture ≤ hold and only once, voids, bounded refunds,
 * lookups by reference, the ledger listing, faults, signed webhooks and a file-backed ledger.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  HttpPaymentProvider,
  ProviderError,
  verifySignature,
  WEBHOOK_SIGNATURE_HEADER,
  type ProviderHold,
} from '../../components/payments/index.js';
import { startPaymentSandbox, type PaymentSandbox, type PaymentSandboxOptions } from './index.js';

const API_KEY = 'sk_sandbox_contract_test';
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => undefined);
});

async function sandboxAndClient(
  options: PaymentSandboxOptions = {},
  timeoutMs = 2_000,
): Promise<{ sandbox: PaymentSandbox; provider: HttpPaymentProvider }> {
  const sandbox = await startPaymentSandbox({ apiKey: API_KEY, ...options, settings: { latencyMs: 0, ...options.settings } });
  cleanups.push(() => sandbox.close());
  return { sandbox, provider: new HttpPaymentProvider({ baseUrl: sandbox.url, apiKey: API_KEY, timeoutMs }) };
}

const key = () => `test-${randomUUID()}`;

async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

async function holdOn(provider: HttpPaymentProvider, token: string, amountCents = 5_000): Promise<ProviderHold> {
  const method = await provider.tokenize(token, key());
  return provider.authorize({ paymentMethodId: method.id, amountCents, currency: 'EUR', reference: `pay_${randomUUID()}` }, key());
}

describe('sandbox payment provider (contract)', () => {
  it('tokenizes the three sandbox tokens and refuses others; every POST needs an idempotency key and the API key', async () => {
    // no injected faults here: this case is about tokenizing (the flaky behaviour has its own cases)
    const { sandbox, provider } = await sandboxAndClient({ settings: { flakyRate: 0 } });
    expect(await provider.tokenize('tok_sandbox_ok', key())).toMatchObject({ brand: 'visa', last4: '4242' });
    expect(await provider.tokenize('tok_sandbox_decline', key())).toMatchObject({ brand: 'visa', last4: '0002' });
    expect(await provider.tokenize('tok_sandbox_flaky', key())).toMatchObject({ brand: 'mastercard', last4: '4444' });
    expect(await rejection(provider.tokenize('tok_visa', key()))).toMatchObject({ kind: 'rejected', code: 'token_invalid', status: 400 });

    const noKey = await fetch(`${sandbox.url}/v1/payment_methods`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: '{"token":"tok_sandbox_ok"}',
    });
    expect(noKey.status).toBe(400);
    expect(await noKey.json()).toMatchObject({ error: { code: 'idempotency_key_missing' } });
    const wrongApiKey = new HttpPaymentProvider({ baseUrl: sandbox.url, apiKey: 'sk_wrong', timeoutMs: 2_000 });
    expect(await rejection(wrongApiKey.tokenize('tok_sandbox_ok', key()))).toMatchObject({
      kind: 'rejected',
      code: 'unauthorized',
      status: 401,
    });
  });

  it('authorizes on tok_sandbox_ok, declines every hold on tok_sandbox_decline, and answers a repeated key with the first answer', async () => {
    const { sandbox, provider } = await sandboxAndClient();
    const ok = await provider.tokenize('tok_sandbox_ok', key());
    const k = key();
    const input = { paymentMethodId: ok.id, amountCents: 4_200, currency: 'EUR', reference: 'pay_ref_1' };
    const first = await provider.authorize(input, k);
    expect(first).toMatchObject({ status: 'authorized', amountCents: 4_200, reference: 'pay_ref_1', capturedCents: 0 });
    const again = await provider.authorize(input, k);
    expect(again.id).toBe(first.id);
    expect(sandbox.stats().replays).toBe(1);
    expect(await rejection(provider.authorize({ ...input, amountCents: 1 }, k))).toMatchObject({
      kind: 'rejected',
      code: 'idempotency_key_reused',
    });
    expect(await provider.findHoldsByReference('pay_ref_1')).toHaveLength(1);

    const decline = await provider.tokenize('tok_sandbox_decline', key());
    for (let i = 0; i < 3; i++) {
      const hold = await provider.authorize({ paymentMethodId: decline.id, amountCents: 100, currency: 'EUR', reference: `d${i}` }, key());
      expect(hold).toMatchObject({ status: 'declined', declineCode: 'card_declined' });
    }
    expect(
      await rejection(provider.authorize({ paymentMethodId: 'pm_unknown', amountCents: 100, currency: 'EUR', reference: 'x' }, key())),
    ).toMatchObject({
      kind: 'rejected',
      code: 'payment_method_not_found',
    });
    expect(
      await rejection(provider.authorize({ paymentMethodId: ok.id, amountCents: 0, currency: 'EUR', reference: 'x' }, key())),
    ).toMatchObject({ code: 'parameter_invalid' });
  });

  it('captures at most the hold, once; the same capture key replays; no capture after a void, no void after a capture', async () => {
    const { provider } = await sandboxAndClient();
    const hold = await holdOn(provider, 'tok_sandbox_ok', 5_000);
    expect(await rejection(provider.capture(hold.id, 5_001, key()))).toMatchObject({ kind: 'rejected', code: 'amount_too_large' });
    const captureKey = key();
    const captured = await provider.capture(hold.id, 3_000, captureKey);
    expect(captured).toMatchObject({ status: 'captured', capturedCents: 3_000 });
    expect((await provider.capture(hold.id, 3_000, captureKey)).captures).toHaveLength(1); // replay, not a second capture
    expect(await rejection(provider.capture(hold.id, 1_000, key()))).toMatchObject({ code: 'hold_already_captured', status: 409 });
    expect(await rejection(provider.void(hold.id, key()))).toMatchObject({ code: 'hold_already_captured' });
    expect((await provider.getHold(hold.id)).captures).toHaveLength(1);

    const other = await holdOn(provider, 'tok_sandbox_ok', 2_000);
    expect(await provider.void(other.id, key())).toMatchObject({ status: 'voided' });
    expect(await rejection(provider.capture(other.id, 100, key()))).toMatchObject({ code: 'hold_voided' });
    expect(await rejection(provider.void(other.id, key()))).toMatchObject({ code: 'hold_voided' });
  });

  it('refunds up to captured − refunded, idempotently', async () => {
    const { provider } = await sandboxAndClient();
    const hold = await holdOn(provider, 'tok_sandbox_ok', 5_000);
    expect(await rejection(provider.refund(hold.id, 100, key()))).toMatchObject({ code: 'hold_not_captured' });
    await provider.capture(hold.id, 4_000, key());
    const refundKey = key();
    const first = await provider.refund(hold.id, 1_500, refundKey);
    expect(first.hold.refundedCents).toBe(1_500);
    expect((await provider.refund(hold.id, 1_500, refundKey)).refund.id).toBe(first.refund.id);
    expect(await rejection(provider.refund(hold.id, 2_501, key()))).toMatchObject({ code: 'amount_too_large' });
    expect((await provider.refund(hold.id, 2_500, key())).hold).toMatchObject({ refundedCents: 4_000, capturedCents: 4_000 });
    expect(await rejection(provider.refund(hold.id, 1, key()))).toMatchObject({ code: 'amount_too_large' });
  });

  it('lists its ledger in pages, in order', async () => {
    const { provider } = await sandboxAndClient();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await holdOn(provider, 'tok_sandbox_ok', 100 + i)).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await provider.listLedger(cursor, 2);
      seen.push(...page.holds.map((h) => h.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor);
    expect(seen).toEqual(ids);
    expect(pages).toBe(3);
  });

  it('a timed-out call may have been applied: retrying the key returns that result instead of acting twice', async () => {
    const { sandbox, provider } = await sandboxAndClient({}, 200);
    const method = await provider.tokenize('tok_sandbox_ok', key());
    const input = { paymentMethodId: method.id, amountCents: 900, currency: 'EUR', reference: 'pay_lost_reply' };
    sandbox.updateSettings({ timeoutRate: 1, lostReplyRate: 1 });
    const k = key();
    expect(await rejection(provider.authorize(input, k))).toMatchObject({ kind: 'unavailable', code: 'timeout' });
    sandbox.updateSettings({ timeoutRate: 0 });
    expect(await provider.findHoldsByReference('pay_lost_reply')).toHaveLength(1); // applied although unanswered
    const retried = await provider.authorize(input, k);
    expect(retried.status).toBe('authorized');
    expect(await provider.findHoldsByReference('pay_lost_reply')).toEqual([retried]);
    expect(sandbox.stats()).toMatchObject({ timeoutsApplied: 1, replays: 1 });

    // and a timeout that was not applied: nothing exists until the retry
    sandbox.updateSettings({ timeoutRate: 1, lostReplyRate: 0 });
    const k2 = key();
    const input2 = { ...input, reference: 'pay_lost_request' };
    expect(await rejection(provider.authorize(input2, k2))).toMatchObject({ code: 'timeout' });
    sandbox.updateSettings({ timeoutRate: 0 });
    expect(await provider.findHoldsByReference('pay_lost_request')).toEqual([]);
    await provider.authorize(input2, k2);
    expect(await provider.findHoldsByReference('pay_lost_request')).toHaveLength(1);
  });

  it('answers 5xx without acting, and 409 (retry later) while the same key is still being processed', async () => {
    const { sandbox, provider } = await sandboxAndClient();
    const method = await provider.tokenize('tok_sandbox_ok', key());
    sandbox.updateSettings({ errorRate: 1 });
    const input = { paymentMethodId: method.id, amountCents: 100, currency: 'EUR', reference: 'pay_5xx' };
    expect(await rejection(provider.authorize(input, key()))).toMatchObject({ kind: 'unavailable', status: 503 });
    sandbox.updateSettings({ errorRate: 0, latencyMs: 300 });
    expect(await provider.findHoldsByReference('pay_5xx')).toEqual([]);
    const k = key();
    const [a, b] = await Promise.allSettled([
      provider.authorize(input, k),
      new Promise((r) => setTimeout(r, 50)).then(() => provider.authorize(input, k)),
    ]);
    expect(a.status).toBe('fulfilled');
    expect(b.status).toBe('rejected');
    expect((b as PromiseRejectedResult).reason).toMatchObject({ kind: 'unavailable', code: 'request_in_progress' });
    expect(await provider.findHoldsByReference('pay_5xx')).toHaveLength(1);
  });

  it('misbehaves on about 30% of the calls on a tok_sandbox_flaky method, never on tok_sandbox_ok', async () => {
    const { sandbox, provider } = await sandboxAndClient({ settings: { flakyRate: 0.3, hangMs: 5_000 } }, 1_500); // well under hangMs, so hangs are still told apart from answers on a loaded machine
    sandbox.updateSettings({ flakyRate: 0 });
    const flaky = await holdOn(provider, 'tok_sandbox_flaky', 100);
    const ok = await holdOn(provider, 'tok_sandbox_ok', 100);
    sandbox.updateSettings({ flakyRate: 0.3 });
    let failures = 0;
    for (let i = 0; i < 60; i++) {
      await provider.getHold(flaky.id).catch(() => (failures += 1));
      await provider.getHold(ok.id); // never fails
    }
    expect(failures).toBeGreaterThan(5);
    expect(failures).toBeLessThan(35);
  });

  it('sends signed webhooks for completed operations and retries until the receiver accepts', async () => {
    const received: Array<{ body: string; signature: string | undefined }> = [];
    let refuseFirst = true;
    const receiver: Server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        if (refuseFirst) {
          refuseFirst = false;
          res.writeHead(500).end();
          return;
        }
        received.push({ body, signature: req.headers[WEBHOOK_SIGNATURE_HEADER] as string | undefined });
        res.writeHead(200).end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => receiver.close(resolve)));
    const secret = 'whsec_contract_test_secret';
    const { sandbox, provider } = await sandboxAndClient({
      webhook: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, secret },
    });
    const k = key();
    const hold = await holdOn(provider, 'tok_sandbox_ok', 700);
    await provider.capture(hold.id, 700, k);
    const deadline = Date.now() + 10_000;
    while (received.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(received).toHaveLength(2); // tokenize sends none
    const events = received.map((r) => {
      expect(verifySignature(r.signature, r.body, secret, Date.now()).ok).toBe(true);
      expect(verifySignature(r.signature, r.body, 'not-the-secret', Date.now()).ok).toBe(false);
      return JSON.parse(r.body) as { id: string; type: string; data: { idempotencyKey: string; hold: ProviderHold } };
    });
    expect(events.map((e) => e.type).sort()).toEqual(['hold.authorized', 'hold.captured']);
    expect(events.find((e) => e.type === 'hold.captured')!.data).toMatchObject({
      idempotencyKey: k,
      hold: { id: hold.id, capturedCents: 700 },
    });
    expect(sandbox.stats().webhooks.failedAttempts).toBeGreaterThanOrEqual(1);
  });

  it('keeps its ledger and stored answers in a file across restarts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleetdesk-sandbox-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    // in a directory still to be made, under the most permissive umask: both are the server user's alone (issue 13 §8)
    const ledgerFile = join(dir, 'ledger', 'ledger.json');
    const umask = process.umask(0);
    const first = await sandboxAndClient({ ledgerFile });
    const method = await first.provider.tokenize('tok_sandbox_ok', key());
    const k = key();
    const input = { paymentMethodId: method.id, amountCents: 1_234, currency: 'EUR', reference: 'pay_persisted' };
    const hold = await first.provider.authorize(input, k);
    await first.sandbox.close();
    process.umask(umask);
    expect([(await stat(dirname(ledgerFile))).mode & 0o777, (await stat(ledgerFile)).mode & 0o777]).toEqual([0o700, 0o600]);

    const second = await sandboxAndClient({ ledgerFile });
    expect((await second.provider.authorize(input, k)).id).toBe(hold.id);
    expect(await second.provider.findHoldsByReference('pay_persisted')).toHaveLength(1);
    expect((await second.provider.capture(hold.id, 1_234, key())).status).toBe('captured');
  });
});

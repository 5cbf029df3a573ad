/**
 * Signed webhooks of the sandbox provider, Stripe style: the body is JSON, the header
 * `Provider-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. Deliveries are retried with
 * backoff until the receiver answers 2xx (receivers must dedupe by event id: the same event may arrive twice).
 */
import { createHmac } from 'node:crypto';
import { backoffDelay } from '../../../../src/shared/backoff.js';
import { newId, type LedgerEvent } from './sandbox-ledger.js';

export const SIGNATURE_HEADER = 'provider-signature';

export function signPayload(secret: string, body: string, timestampS: number): string {
  const v1 = createHmac('sha256', secret).update(`${timestampS}.${body}`).digest('hex');
  return `t=${timestampS},v1=${v1}`;
}

export interface WebhookTarget {
  url: string;
  secret: string;
}

export interface WebhookStats {
  queued: number;
  delivered: number;
  failedAttempts: number;
  abandoned: number;
}

const MAX_ATTEMPTS = 8;
const FIRST_RETRY_MS = 250;
const DELIVERY_TIMEOUT_MS = 5_000;

export class WebhookSender {
  private target: WebhookTarget | undefined;
  /** events produced before a target was known (embedded mode learns the server's URL after it listens) */
  private readonly waiting: string[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly controllers = new Set<AbortController>();
  private closed = false;
  readonly stats: WebhookStats = { queued: 0, delivered: 0, failedAttempts: 0, abandoned: 0 };

  constructor(
    target: WebhookTarget | undefined,
    private readonly log: (msg: string, fields?: Record<string, unknown>) => void,
  ) {
    this.target = target;
  }

  setTarget(target: WebhookTarget | undefined): void {
    this.target = target;
    if (target) for (const body of this.waiting.splice(0)) this.deliver(body, 1);
  }

  /** Serialises now (the hold may change later) and delivers in the background. */
  emit(event: LedgerEvent, at: Date): void {
    if (this.closed) return;
    const body = JSON.stringify({
      id: newId('evt'),
      type: event.type,
      createdAt: at.toISOString(),
      data: { hold: stripSeq(event.hold), ...(event.refund ? { refund: event.refund } : {}), idempotencyKey: event.idempotencyKey },
    });
    this.stats.queued += 1;
    if (this.target) this.deliver(body, 1);
    else this.waiting.push(body);
  }

  private deliver(body: string, attempt: number): void {
    const target = this.target;
    if (this.closed || !target) return;
    const controller = new AbortController();
    this.controllers.add(controller);
    const timer = setTimeout(() => controller.abort(), DELIVERY_TIMEOUT_MS);
    const signature = signPayload(target.secret, body, Math.floor(Date.now() / 1000));
    fetch(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signature },
      body,
      signal: controller.signal,
    })
      .then(async (res) => {
        await res.arrayBuffer().catch(() => undefined);
        if (res.status < 200 || res.status >= 300) throw new Error(`receiver answered ${res.status}`);
        this.stats.delivered += 1;
      })
      .catch((err: unknown) => {
        if (this.closed) return;
        this.stats.failedAttempts += 1;
        if (attempt >= MAX_ATTEMPTS) {
          this.stats.abandoned += 1;
          this.log('webhook abandoned', { attempts: attempt, reason: err instanceof Error ? err.message : String(err) });
          return;
        }
        const retry = setTimeout(
          () => {
            this.timers.delete(retry);
            this.deliver(body, attempt + 1);
          },
          backoffDelay(attempt, { initialMs: FIRST_RETRY_MS, maxMs: Infinity }),
        );
        this.timers.add(retry);
      })
      .finally(() => {
        clearTimeout(timer);
        this.controllers.delete(controller);
      });
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const c of this.controllers) c.abort();
  }
}

function stripSeq(hold: LedgerEvent['hold']): Omit<LedgerEvent['hold'], 'seq'> {
  const { seq: _seq, ...rest } = hold;
  return rest;
}

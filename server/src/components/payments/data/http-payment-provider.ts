/**
 * The payment-provider contract over HTTP (the sandbox's wire format, server/README.md "Payments"): fetch with
 * a per-call timeout, every POST with its Idempotency-Key. Failures are sorted into "no definite answer, retry
 * with the same key" (timeouts, dropped connections, 5xx, 429, a request with that key still in progress) and
 * definite refusals; each call is reported to the observer (metrics, provider health).
 */
import {
  ProviderError,
  type CallObserver,
  type CallOptions,
  type CallOutcome,
  type PaymentProvider,
  type ProviderHold,
  type ProviderMovement,
  type ProviderOperation,
  type ProviderPaymentMethod,
} from '../model.js';

export interface HttpPaymentProviderOptions {
  baseUrl: string;
  apiKey?: string;
  /** default per-call timeout */
  timeoutMs: number;
  observe?: CallObserver;
}

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

export class HttpPaymentProvider implements PaymentProvider {
  private readonly baseUrl: string;

  constructor(private readonly options: HttpPaymentProviderOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  async tokenize(token: string, idempotencyKey: string, options?: CallOptions): Promise<ProviderPaymentMethod> {
    const reply = await this.call('tokenize', 'POST', '/v1/payment_methods', { token }, idempotencyKey, options);
    return reply.body as unknown as ProviderPaymentMethod;
  }

  async authorize(
    input: { paymentMethodId: string; amountCents: number; currency: string; reference: string },
    idempotencyKey: string,
    options?: CallOptions,
  ): Promise<ProviderHold> {
    const reply = await this.call(
      'authorize',
      'POST',
      '/v1/holds',
      input,
      idempotencyKey,
      options,
      (r) => r.status === 402 && isHold(r.body.hold),
    );
    return (reply.status === 402 ? reply.body.hold : reply.body) as ProviderHold;
  }

  async findHoldsByReference(reference: string, options?: CallOptions): Promise<ProviderHold[]> {
    const reply = await this.call(
      'find_holds',
      'GET',
      `/v1/holds?reference=${encodeURIComponent(reference)}`,
      undefined,
      undefined,
      options,
    );
    return reply.body.holds as ProviderHold[];
  }

  async getHold(holdId: string, options?: CallOptions): Promise<ProviderHold> {
    return (await this.call('get_hold', 'GET', `/v1/holds/${encodeURIComponent(holdId)}`, undefined, undefined, options))
      .body as unknown as ProviderHold;
  }

  async capture(holdId: string, amountCents: number, idempotencyKey: string, options?: CallOptions): Promise<ProviderHold> {
    return (await this.call('capture', 'POST', `/v1/holds/${encodeURIComponent(holdId)}/capture`, { amountCents }, idempotencyKey, options))
      .body as unknown as ProviderHold;
  }

  async void(holdId: string, idempotencyKey: string, options?: CallOptions): Promise<ProviderHold> {
    return (await this.call('void', 'POST', `/v1/holds/${encodeURIComponent(holdId)}/void`, {}, idempotencyKey, options))
      .body as unknown as ProviderHold;
  }

  async refund(
    holdId: string,
    amountCents: number,
    idempotencyKey: string,
    options?: CallOptions,
  ): Promise<{ refund: ProviderMovement; hold: ProviderHold }> {
    const reply = await this.call(
      'refund',
      'POST',
      `/v1/holds/${encodeURIComponent(holdId)}/refunds`,
      { amountCents },
      idempotencyKey,
      options,
    );
    return reply.body as unknown as { refund: ProviderMovement; hold: ProviderHold };
  }

  async listLedger(
    cursor: string | null,
    limit: number,
    options?: CallOptions,
  ): Promise<{ holds: ProviderHold[]; nextCursor: string | null }> {
    const query = `limit=${limit}${cursor ? `&after=${encodeURIComponent(cursor)}` : ''}`;
    const reply = await this.call('list_ledger', 'GET', `/v1/ledger?${query}`, undefined, undefined, options);
    return reply.body as unknown as { holds: ProviderHold[]; nextCursor: string | null };
  }

  async health(options?: CallOptions): Promise<void> {
    await this.call('health', 'GET', '/v1/health', undefined, undefined, options);
  }

  private async call(
    operation: ProviderOperation,
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    idempotencyKey: string | undefined,
    options: CallOptions = {},
    isAnswer: (reply: Reply) => boolean = () => false,
  ): Promise<Reply> {
    const started = performance.now();
    const timeoutMs = Math.max(1, Math.floor(options.timeoutMs ?? this.options.timeoutMs));
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    const report = (outcome: CallOutcome) => this.options.observe?.(operation, outcome, (performance.now() - started) / 1000);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
    if (body !== undefined) headers['content-type'] = 'application/json';

    let reply: Reply;
    try {
      const res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
      const text = await res.text(); // inside the timeout too: a body can stall as well as the headers
      reply = { status: res.status, body: parseObject(text) };
    } catch (err) {
      if (timeout.aborted) {
        report('timeout');
        throw new ProviderError('unavailable', 'timeout', `payment provider gave no answer within ${timeoutMs} ms (${operation})`);
      }
      if (options.signal?.aborted) {
        report('network_error');
        throw new ProviderError('unavailable', 'aborted', `${operation} abandoned (shutting down)`);
      }
      report('network_error');
      throw new ProviderError('unavailable', 'network_error', `payment provider unreachable (${operation}): ${describe(err)}`);
    }

    if ((reply.status >= 200 && reply.status < 300) || isAnswer(reply)) {
      report(reply.status === 402 ? 'declined' : 'ok');
      return reply;
    }
    const error = (reply.body.error ?? {}) as { code?: unknown; message?: unknown };
    const code = typeof error.code === 'string' ? error.code : `http_${reply.status}`;
    const message = `payment provider answered ${reply.status} to ${operation}: ${typeof error.message === 'string' ? error.message : code}`;
    if (reply.status >= 500 || reply.status === 429) {
      report('server_error');
      throw new ProviderError('unavailable', code, message, reply.status);
    }
    if (reply.status === 409 && code === 'request_in_progress') {
      report('in_progress');
      throw new ProviderError('unavailable', code, message, reply.status);
    }
    report('rejected');
    throw new ProviderError('rejected', code, message, reply.status);
  }
}

function parseObject(text: string): Record<string, unknown> {
  if (text === '') return {};
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function isHold(value: unknown): boolean {
  return !!value && typeof value === 'object' && typeof (value as { id?: unknown }).id === 'string';
}

function describe(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}

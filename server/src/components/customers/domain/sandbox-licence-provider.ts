/**
 * The sandbox licence-check provider (development, tests, demos): answers after `latencyMs` (default 500 ms, so
 * within 2 s), rejects numbers starting with `REJECT`, verifies everything else, and fails like an outage on
 * `failurePct` % of calls (half of them by never answering — a timeout —, half with an error) so retries run
 * for real. It honours the abort signal like a real HTTP client would.
 */
import {
  LicenceProviderError,
  type LicenceCheckDecision,
  type LicenceCheckProvider,
  type LicenceCheckRequest,
} from './licence-provider.js';

export interface SandboxLicenceOptions {
  latencyMs: number;
  failurePct: number;
  random?: () => number;
}

export class SandboxLicenceProvider implements LicenceCheckProvider {
  readonly name = 'sandbox';
  private readonly random: () => number;

  constructor(private readonly options: SandboxLicenceOptions) {
    this.random = options.random ?? Math.random;
  }

  async check(request: LicenceCheckRequest, signal: AbortSignal): Promise<LicenceCheckDecision> {
    const roll = this.random() * 100;
    if (roll < this.options.failurePct / 2) {
      await delay(Number.POSITIVE_INFINITY, signal);
    }
    await delay(this.options.latencyMs, signal);
    if (roll < this.options.failurePct) throw new LicenceProviderError('sandbox: simulated provider outage (HTTP 503)');
    if (request.number.toUpperCase().startsWith('REJECT'))
      return { outcome: 'rejected', reason: 'The licence could not be verified (sandbox: numbers starting with REJECT are rejected)' };
    return { outcome: 'verified' };
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new LicenceProviderError('aborted'));
    const timer = Number.isFinite(ms) ? setTimeout(done, ms) : undefined;
    function done() {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(timer);
      reject(new LicenceProviderError('sandbox: no answer before the timeout'));
    }
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

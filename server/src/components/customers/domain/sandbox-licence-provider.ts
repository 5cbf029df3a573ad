/**
 * The sandbox licence-check provider (development, tests, demos): answers after `latencyMs` (default 500 ms, so
 * within 2 s), rejects numbers starting with `REJECT`, verifies everything else, and fails like an outage on
 * `failurePct` % of calls (half of them by never answering — a timeout —, half with an error) so retries run
 * for real. It honours the abort signal like a real HTTP client would. Its settings can change while it runs
 * (`updateSettings`, like the payment sandbox's): `available: false` is a provider that is down — every call fails at
 * once as a refused connection would — until it is set back (`npm run chaos`, outage tests).
 */
import {
  LicenceProviderError,
  type LicenceCheckDecision,
  type LicenceCheckProvider,
  type LicenceCheckRequest,
} from './licence-provider.js';

export interface SandboxLicenceSettings {
  latencyMs: number;
  failurePct: number;
  /** false: the provider is down (every call refused at once) */
  available: boolean;
}

export interface SandboxLicenceOptions extends Omit<SandboxLicenceSettings, 'available'> {
  available?: boolean;
  random?: () => number;
}

export class SandboxLicenceProvider implements LicenceCheckProvider {
  readonly name = 'sandbox';
  private readonly random: () => number;
  private current: SandboxLicenceSettings;

  constructor(options: SandboxLicenceOptions) {
    this.random = options.random ?? Math.random;
    this.current = checkSettings({ latencyMs: options.latencyMs, failurePct: options.failurePct, available: options.available ?? true });
  }

  settings(): SandboxLicenceSettings {
    return { ...this.current };
  }

  /** Changes the settings from the next call on (calls in flight keep theirs); the settings now. */
  updateSettings(patch: Partial<SandboxLicenceSettings>): SandboxLicenceSettings {
    this.current = checkSettings({ ...this.current, ...patch });
    return this.settings();
  }

  async check(request: LicenceCheckRequest, signal: AbortSignal): Promise<LicenceCheckDecision> {
    const { latencyMs, failurePct, available } = this.current;
    if (!available) throw new LicenceProviderError('sandbox: provider down (connection refused)');
    const roll = this.random() * 100;
    if (roll < failurePct / 2) {
      await delay(Number.POSITIVE_INFINITY, signal);
    }
    await delay(latencyMs, signal);
    if (roll < failurePct) throw new LicenceProviderError('sandbox: simulated provider outage (HTTP 503)');
    if (request.number.toUpperCase().startsWith('REJECT'))
      return { outcome: 'rejected', reason: 'The licence could not be verified (sandbox: numbers starting with REJECT are rejected)' };
    return { outcome: 'verified' };
  }
}

function checkSettings(settings: SandboxLicenceSettings): SandboxLicenceSettings {
  if (!(Number.isInteger(settings.latencyMs) && settings.latencyMs >= 0 && settings.latencyMs <= 60_000))
    throw new RangeError(`latencyMs must be an integer 0–60000 (got ${settings.latencyMs})`);
  if (!(Number.isInteger(settings.failurePct) && settings.failurePct >= 0 && settings.failurePct <= 100))
    throw new RangeError(`failurePct must be an integer 0–100 (got ${settings.failurePct})`);
  if (typeof settings.available !== 'boolean') throw new RangeError('available must be true or false');
  return settings;
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

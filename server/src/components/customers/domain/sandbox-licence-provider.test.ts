/** The sandbox licence provider's availability changes while it runs (chaos runs, outage tests). */
import { describe, expect, it } from 'vitest';
import { LicenceProviderError } from './licence-provider.js';
import { SandboxLicenceProvider } from './sandbox-licence-provider.js';

const request = { checkId: '1', number: 'B123', country: 'DE', expiresOn: '2030-01-01', holderName: 'Anna Weber' };

describe('SandboxLicenceProvider', () => {
  it('is down from the next call once set unavailable, and answers again once set back', async () => {
    const provider = new SandboxLicenceProvider({ latencyMs: 0, failurePct: 0 });
    const signal = new AbortController().signal;
    expect(await provider.check(request, signal)).toEqual({ outcome: 'verified' });

    expect(provider.updateSettings({ available: false })).toEqual({ latencyMs: 0, failurePct: 0, available: false });
    const started = Date.now();
    await expect(provider.check(request, signal)).rejects.toThrow(LicenceProviderError);
    await expect(provider.check(request, signal)).rejects.toThrow(/provider down/);
    // refused at once, as a closed port is, not after the latency
    expect(Date.now() - started).toBeLessThan(1_000);

    provider.updateSettings({ available: true });
    expect(await provider.check({ ...request, number: 'REJECT-1' }, signal)).toMatchObject({ outcome: 'rejected' });
    expect(await provider.check(request, signal)).toEqual({ outcome: 'verified' });
  });

  it('refuses settings out of range and keeps the ones it had', () => {
    const provider = new SandboxLicenceProvider({ latencyMs: 5, failurePct: 10 });
    expect(() => provider.updateSettings({ failurePct: 101 })).toThrow(/failurePct must be an integer 0–100/);
    expect(() => provider.updateSettings({ latencyMs: -1 })).toThrow(/latencyMs must be an integer 0–60000/);
    expect(provider.settings()).toEqual({ latencyMs: 5, failurePct: 10, available: true });
  });
});

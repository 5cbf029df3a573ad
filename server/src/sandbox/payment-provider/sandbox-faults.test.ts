/** The sandbox's fault plan: seeded decisions are reproducible and follow the configured rates. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_SANDBOX_SETTINGS, FaultPlan, checkSettings, type SandboxSettings } from './sandbox-faults.js';

const plan = (patch: Partial<SandboxSettings> = {}) => {
  const settings = { ...DEFAULT_SANDBOX_SETTINGS, ...patch };
  return new FaultPlan(() => settings);
};

describe('sandbox fault plan', () => {
  it('takes the same decisions for the same seed and requests, other decisions for another seed', () => {
    const keys = Array.from({ length: 500 }, (_, i) => `key-${i}`);
    const run = (seed: string) => {
      const p = plan({ seed });
      return keys.map((k) => `${p.decide(k, true)}/${p.decide(k, true)}`);
    };
    expect(run('a')).toEqual(run('a'));
    expect(run('a')).not.toEqual(run('b'));
  });

  it('fails about flakyRate of the calls on a flaky method — half timeouts (half of those applied), half 5xx — and none on others', () => {
    const p = plan({ flakyRate: 0.3, lostReplyRate: 0.5, seed: 'rates' });
    const counts = { none: 0, error: 0, timeout_applied: 0, timeout_lost: 0 };
    const n = 20_000;
    for (let i = 0; i < n; i++) counts[p.decide(`k${i}`, true)] += 1;
    expect(counts.error / n).toBeGreaterThan(0.13);
    expect(counts.error / n).toBeLessThan(0.17);
    const timeouts = counts.timeout_applied + counts.timeout_lost;
    expect(timeouts / n).toBeGreaterThan(0.13);
    expect(timeouts / n).toBeLessThan(0.17);
    expect(counts.timeout_applied / timeouts).toBeGreaterThan(0.45);
    expect(counts.timeout_applied / timeouts).toBeLessThan(0.55);
    for (let i = 0; i < 2_000; i++) expect(p.decide(`other${i}`, false)).toBe('none');
  });

  it('applies the global rates to every call (an outage), and a retry of the same key draws again', () => {
    const p = plan({ errorRate: 1, flakyRate: 0 });
    expect(p.decide('x', false)).toBe('error');
    const q = plan({ timeoutRate: 0.5, seed: 's' });
    const first = Array.from({ length: 40 }, () => q.decide('same-key', false));
    expect(new Set(first).size).toBeGreaterThan(1); // not stuck on one answer: retries eventually get through
  });

  it('rejects bad settings by name', () => {
    expect(() => checkSettings({ flakyRate: 2 })).toThrow('flakyRate');
    expect(() => checkSettings({ latencyMs: -1 })).toThrow('latencyMs');
    expect(() => checkSettings({ nonsense: 1 })).toThrow('unknown setting');
    expect(checkSettings({ seed: 7, errorRate: 0.1 })).toEqual({ seed: '7', errorRate: 0.1 });
  });
});

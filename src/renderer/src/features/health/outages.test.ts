import { describe, expect, it } from 'vitest';
import type { IntegrationChange } from '../../../../shared/timeline.js';
import { outages } from './use-integration-health';

describe('outages', () => {
  it('turns the change log (newest first) into outages with their end, newest first', () => {
    const changes: IntegrationChange[] = [
      { name: 'payment_provider', from: 'down', to: 'up', at: 9_000, error: null },
      { name: 'licence_provider', from: 'up', to: 'degraded', at: 7_000, error: 'timeout' },
      { name: 'payment_provider', from: 'up', to: 'down', at: 3_000, error: 'ECONNREFUSED' },
      { name: 'payment_provider', from: null, to: 'up', at: 1_000, error: null },
      { name: 'licence_provider', from: null, to: 'up', at: 1_000, error: null },
    ];
    expect(outages(changes)).toEqual([
      { name: 'licence_provider', state: 'degraded', from: 7_000, until: undefined, error: 'timeout' },
      { name: 'payment_provider', state: 'down', from: 3_000, until: 9_000, error: 'ECONNREFUSED' },
    ]);
  });

  it('ends a degraded spell when it turns down, and starts the down one there', () => {
    const changes: IntegrationChange[] = [
      { name: 'database', from: 'degraded', to: 'down', at: 5_000, error: 'gone' },
      { name: 'database', from: 'up', to: 'degraded', at: 2_000, error: 'slow' },
    ];
    expect(outages(changes)).toEqual([
      { name: 'database', state: 'down', from: 5_000, until: undefined, error: 'gone' },
      { name: 'database', state: 'degraded', from: 2_000, until: 5_000, error: 'slow' },
    ]);
  });
});

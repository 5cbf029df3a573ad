import { describe, expect, it } from 'vitest';
import { collectionSync, foldStatus, syncText, type CollectionHealth } from './sync-status';

const ok: CollectionHealth = { initialDone: true, streamOpen: true, active: false };
const now = 1_700_000_000_000;

describe('sync status', () => {
  it('folds collection health into one status', () => {
    expect(foldStatus([ok, ok], 0).status).toBe('synced');
    expect(foldStatus([ok, { ...ok, active: true }], 0).status).toBe('syncing');
    expect(foldStatus([ok, ok], 2).status).toBe('syncing');
    expect(foldStatus([ok, { ...ok, initialDone: false }], 0)).toMatchObject({ status: 'connecting', progress: 0.5 });
    expect(foldStatus([ok, { ...ok, failure: { kind: 'network', message: 'Failed to fetch', at: now } }], 0)).toMatchObject({
      status: 'offline',
      detail: 'Failed to fetch',
    });
    expect(foldStatus([ok, { ...ok, failure: { kind: 'server', message: 'HTTP 500', at: now } }], 0).status).toBe('error');
    expect(foldStatus([ok, { ...ok, streamOpen: false }], 0).status).toBe('connecting');
  });

  it('formats ages and pending counts', () => {
    expect(syncText({ status: 'synced', lastSyncAt: now - 3000, pending: 0, progress: undefined }, now)).toBe('Synced · 3 s ago');
    expect(syncText({ status: 'offline', lastSyncAt: now - 12 * 60_000, pending: 0, progress: undefined }, now)).toBe(
      'Offline · data from 12 min ago',
    );
    expect(syncText({ status: 'offline', lastSyncAt: now - 12 * 60_000, pending: 1, progress: undefined }, now)).toBe(
      'Offline · data from 12 min ago · 1 local change waiting',
    );
    expect(syncText({ status: 'synced', lastSyncAt: now, pending: 0, progress: undefined }, now)).toBe('Synced · just now');
    expect(syncText({ status: 'offline', lastSyncAt: undefined, pending: 0, progress: undefined }, now)).toBe(
      'Offline · no local data yet',
    );
    expect(syncText({ status: 'syncing', lastSyncAt: now, pending: 3, progress: undefined }, now)).toBe('3 local changes waiting');
    expect(syncText({ status: 'connecting', lastSyncAt: undefined, pending: 0, progress: 0.25 }, now)).toBe('Initial sync · 25 %');
  });
});

describe('collection sync rows', () => {
  it('says per collection whether it is live, catching up, or failing, with its pending edits', () => {
    expect(collectionSync('alerts', { ...ok, lastOkAt: now, lagMs: 120 }, 0)).toEqual({
      name: 'alerts',
      state: 'up',
      words: 'live',
      lastOkAt: now,
      lagMs: 120,
      pending: 0,
      initialDone: true,
    });
    expect(collectionSync('tasks', { ...ok, streamOpen: false }, 2)).toMatchObject({ state: 'degraded', pending: 2 });
    expect(collectionSync('tasks', { ...ok, streamOpen: false }, 2).words).toContain('catching up');
    expect(collectionSync('vehicles', { initialDone: false, streamOpen: false, active: true }, 0)).toMatchObject({
      state: 'degraded',
      words: 'first sync running',
      initialDone: false,
    });
    expect(collectionSync('notes', { ...ok, failure: { kind: 'network', message: 'Failed to fetch', at: now } }, 1)).toMatchObject({
      state: 'down',
      words: 'Failed to fetch',
      pending: 1,
    });
    expect(collectionSync('notes', { ...ok, failure: { kind: 'server', message: 'notes: HTTP 500', at: now } }, 0).state).toBe('degraded');
  });
});

import { describe, expect, it, vi } from 'vitest';
import type { AlertDoc } from '../../../shared/sync-protocol.js';
import { alertDoc } from '../testing/fixtures';
import { createConflictHandler, decideConflict, docsEqual } from './conflicts';
import { migrateConflictV1 } from './database';

const alert = { _deleted: false, ...alertDoc({ vehicleId: 'v1' }) };

describe('conflict rule', () => {
  it('takes the master when only server-managed fields changed', () => {
    const master = { ...alert, updatedAt: 5, occurrences: 3 };
    expect(decideConflict('alerts', { assumedMasterState: alert, realMasterState: master, newDocumentState: alert })).toEqual({
      kind: 'take-master',
      doc: master,
    });
  });
  it('merges non-overlapping edits per field (mine on my fields, server-managed from the master)', () => {
    const mine = { ...alert, status: 'acknowledged' as const };
    const master = { ...alert, assignee: 'op-2', occurrences: 4, updatedAt: 9 };
    expect(decideConflict('alerts', { assumedMasterState: alert, realMasterState: master, newDocumentState: mine })).toEqual({
      kind: 'merged',
      doc: { ...master, status: 'acknowledged' },
    });
  });
  it('keeps the master and reports a clash on the same editable field', () => {
    const mine = { ...alert, assignee: 'op-1' };
    const master = { ...alert, assignee: 'op-2', updatedAt: 9 };
    const d = decideConflict('alerts', { assumedMasterState: alert, realMasterState: master, newDocumentState: mine });
    expect(d).toMatchObject({ kind: 'conflict', doc: master, fields: ['assignee'] });
  });
  it('keeps the master (without the rejection) when the server refused the push', () => {
    const mine = { ...alert, status: 'resolved' as const };
    const master = { ...alert, syncRejection: { code: 'forbidden', message: 'support may not edit alerts' } };
    const d = decideConflict('alerts', { assumedMasterState: alert, realMasterState: master, newDocumentState: mine });
    expect(d.kind).toBe('conflict');
    expect(d.doc).toEqual(alert);
    expect(d.kind === 'conflict' && d.reason).toContain('support may not edit alerts');
    expect(d).toMatchObject({ refusal: { code: 'forbidden', message: 'support may not edit alerts' } });
  });
  it('a real conflict carries no refusal', () => {
    const d = decideConflict('alerts', { realMasterState: { ...alert, status: 'resolved' }, newDocumentState: alert });
    expect(d.kind === 'conflict' && d.refusal).toBeUndefined();
  });
  it('reports an edit of a document the server deleted', () => {
    const d = decideConflict('alerts', {
      assumedMasterState: alert,
      realMasterState: { ...alert, _deleted: true },
      newDocumentState: { ...alert, status: 'acknowledged' },
    });
    expect(d).toMatchObject({ kind: 'conflict', reason: expect.stringContaining('deleted') });
  });
  it('without a base, any differing editable field is a clash', () => {
    const d = decideConflict('alerts', { realMasterState: { ...alert, status: 'resolved' }, newDocumentState: alert });
    expect(d).toMatchObject({ kind: 'conflict', fields: ['status'] });
  });
  it('equality ignores syncRejection, key order and a false _deleted', () => {
    expect(docsEqual({ a: 1, b: 2, _deleted: false }, { b: 2, a: 1, syncRejection: { code: 'x' } })).toBe(true);
    expect(docsEqual({ a: 1 }, { a: 2 })).toBe(false);
  });
  it('the handler records conflicts and never drops the local version', async () => {
    const record = vi.fn(async () => undefined);
    const settled = vi.fn(async () => undefined);
    const h = createConflictHandler<AlertDoc>('alerts', record, settled);
    const mine = { ...alert, assignee: 'op-1' };
    const master = { ...alert, assignee: 'op-2' };
    await expect(h.resolve({ assumedMasterState: alert, realMasterState: master, newDocumentState: mine }, 'test')).resolves.toEqual(
      master,
    );
    expect(record).toHaveBeenCalledWith(
      expect.objectContaining({ collectionName: 'alerts', docId: 'a1', local: mine, master, resolved: false }),
    );
    expect(settled).toHaveBeenCalledWith('a1');
  });
  it('a merge stays waiting in the outbox (it is pushed again)', async () => {
    const record = vi.fn(async () => undefined);
    const settled = vi.fn(async () => undefined);
    const h = createConflictHandler<AlertDoc>('alerts', record, settled);
    await h.resolve(
      { assumedMasterState: alert, realMasterState: { ...alert, occurrences: 2 }, newDocumentState: { ...alert, status: 'acknowledged' } },
      'test',
    );
    expect(record).not.toHaveBeenCalled();
    expect(settled).not.toHaveBeenCalled();
  });
  it('stops merging a document the server keeps answering with a conflicting master', async () => {
    const record = vi.fn(async () => undefined);
    const h = createConflictHandler<AlertDoc>('alerts', record);
    const input = { assumedMasterState: alert, realMasterState: alert, newDocumentState: { ...alert, status: 'acknowledged' as const } };
    for (let i = 0; i < 3; i++) expect((await h.resolve(input, 'test')).status).toBe('acknowledged');
    expect(await h.resolve(input, 'test')).toEqual(alert);
    expect(record).toHaveBeenCalledWith(expect.objectContaining({ reason: expect.stringContaining('keeps refusing') }));
  });
});

describe('conflict entries stored before refusals were told apart (schema v0 → v1)', () => {
  it('a v0 entry whose reason says the server rejected the change becomes a refusal; a real conflict stays one', () => {
    const base = { id: 'c1', collectionName: 'alerts' as const, docId: 'a1', local: {}, master: {}, at: 1, resolved: false };
    expect(migrateConflictV1({ ...base, reason: 'rejected by the server: role support may not change alerts' })).toMatchObject({
      refusal: { code: 'refused', message: 'role support may not change alerts' },
    });
    expect(migrateConflictV1({ ...base, reason: 'changed on the server too: assignee' }).refusal).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../platform/log.js';
import type { CredentialsRepository } from '../data/credentials.repository.js';
import type { CredentialRecord } from '../model.js';
import { CredentialCache } from './credential-cache.js';
import { generateSecret, hashSecret } from './secrets.js';

const log = createLogger({ level: 'silent' });

async function record(username: string, secret: string, disabled = false): Promise<CredentialRecord> {
  return { username, role: 'device', vehicleId: username, secretHash: await hashSecret(secret), brokerHash: '', disabled };
}

function fakeRepo(rows: CredentialRecord[]): CredentialsRepository & { rows: CredentialRecord[] } {
  const repo = { rows, listAll: async () => repo.rows };
  return repo as unknown as CredentialsRepository & { rows: CredentialRecord[] };
}

describe('credential cache', () => {
  it('verifies a secret with scrypt once, then by its digest; wrong secrets never pass', async () => {
    const secret = generateSecret();
    const cache = new CredentialCache(fakeRepo([await record('veh-1', secret)]), log);
    await cache.refresh();
    expect(await cache.authenticate('veh-1', Buffer.from(secret))).toMatchObject({
      ok: true,
      principal: { username: 'veh-1', role: 'device' },
    });
    expect(await cache.authenticate('veh-1', Buffer.from(secret))).toMatchObject({ ok: true });
    expect(cache.stats).toEqual({ scrypt: 1, cached: 1 });
    expect(await cache.authenticate('veh-1', Buffer.from(`${secret}x`))).toEqual({ ok: false, reason: 'bad_password' });
    expect(await cache.authenticate('veh-2', Buffer.from(secret))).toEqual({ ok: false, reason: 'unknown_user' });
    expect(await cache.authenticate(undefined, undefined)).toEqual({ ok: false, reason: 'anonymous' });
    expect(await cache.authenticate('veh-1', undefined)).toEqual({ ok: false, reason: 'anonymous' });
  });

  it('a rotation or revocation seen on refresh (another instance) forgets the verified secret and ends sessions', async () => {
    const secret = generateSecret();
    const repo = fakeRepo([await record('veh-1', secret), await record('veh-2', secret)]);
    const cache = new CredentialCache(repo, log);
    await cache.refresh();
    const first = await cache.authenticate('veh-1', Buffer.from(secret));
    expect(first.ok).toBe(true);
    const ended: string[] = [];
    cache.onChange((u) => ended.push(u));
    const next = generateSecret();
    repo.rows = [await record('veh-1', next), await record('veh-2', secret, true)];
    await cache.refresh();
    expect(ended.sort()).toEqual(['veh-1', 'veh-2']);
    expect(first.ok && cache.isCurrent(first.principal)).toBe(false);
    expect(await cache.authenticate('veh-1', Buffer.from(secret))).toEqual({ ok: false, reason: 'bad_password' });
    expect(await cache.authenticate('veh-1', Buffer.from(next))).toMatchObject({ ok: true });
    expect(await cache.authenticate('veh-2', Buffer.from(secret))).toEqual({ ok: false, reason: 'disabled' });
    // an unchanged refresh keeps the verified digest (no scrypt) and ends nothing
    const before = cache.stats.scrypt;
    ended.length = 0;
    await cache.refresh();
    expect(await cache.authenticate('veh-1', Buffer.from(next))).toMatchObject({ ok: true });
    expect(cache.stats.scrypt).toBe(before);
    expect(ended).toEqual([]);
  });
});

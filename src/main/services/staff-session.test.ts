import { afterEach, describe, expect, it } from 'vitest';
import type { AuthState } from '../../shared/desktop-api.js';
import { silentLogger } from '../log.js';
import { startFakeServer, type FakeServer } from '../testing/fake-server.js';
import { waitFor } from '../testing/fixtures.js';
import { StaffSession, type SessionVault, type StoredSession } from './staff-session.js';

const ANNA = { id: 'staff-anna', name: 'Anna K', role: 'support' };

function memoryVault(initial?: StoredSession): SessionVault & { value: StoredSession | undefined } {
  const v = {
    value: initial,
    load: async () => v.value,
    save: async (s: StoredSession | undefined) => {
      v.value = s;
    },
  };
  return v;
}

describe('StaffSession', () => {
  let server: FakeServer | undefined;
  const sessions: StaffSession[] = [];
  afterEach(async () => {
    for (const s of sessions.splice(0)) s.stop();
    await server?.close();
    server = undefined;
  });

  const make = (opts: Partial<ConstructorParameters<typeof StaffSession>[0]> = {}) => {
    const changes: AuthState[] = [];
    const s = new StaffSession({
      serverUrl: server!.url,
      logger: silentLogger(),
      backoff: { initialMs: 20, maxMs: 50 },
      onChange: (st) => changes.push(st),
      ...opts,
    });
    sessions.push(s);
    return { s, changes };
  };

  it('signs in, hands out the access token, never exposes the refresh token, signs out', async () => {
    server = await startFakeServer();
    server.accounts.set('anna@ops.example', { password: 'pw-anna', staff: ANNA });
    const { s, changes } = make();
    await s.start();
    expect(s.state()).toEqual({ status: 'signed_out' });
    await expect(s.accessToken()).rejects.toMatchObject({ code: 'signed_out' });

    await expect(s.signIn('anna@ops.example', 'wrong')).rejects.toMatchObject({ code: 'invalid_credentials' });
    await expect(s.signIn('not-an-email', 'x')).rejects.toMatchObject({ code: 'bad_request' });
    const state = await s.signIn('anna@ops.example', 'pw-anna');
    expect(state).toEqual({
      status: 'signed_in',
      operator: { id: 'staff-anna', name: 'Anna K', role: 'support', email: 'anna@ops.example' },
    });
    expect(JSON.stringify(state)).not.toContain('rt-');
    const token = await s.accessToken();
    expect(server.accessTokens.get(token.token)).toBe('staff-anna');
    expect(token.expiresAt).toBeGreaterThan(Date.now() + 500_000);
    expect(await s.authHeaders()).toEqual({ authorization: `Bearer ${token.token}` });
    expect(changes.at(-1)?.status).toBe('signed_in');

    await s.signOut();
    expect(s.state().status).toBe('signed_out');
    await expect(s.accessToken()).rejects.toMatchObject({ code: 'signed_out' });
    await waitFor(() => server!.refreshTokens.size === 0, 'refresh token revoked on sign-out');
  });

  it('refreshes before expiry; keeps the session while the server is down (offline) and recovers', async () => {
    server = await startFakeServer();
    server.accounts.set('anna@ops.example', { password: 'pw-anna', staff: ANNA });
    server.accessTtlS = 2; // refresh margin = 1/5 of the life; timer fires ~1 s in
    const { s, changes } = make();
    await s.start();
    await s.signIn('anna@ops.example', 'pw-anna');
    const first = await s.accessToken();
    await waitFor(() => !server!.accessTokens.has(first.token) || server!.accessTokens.size > 1, 'proactive refresh', 5_000);
    // (the server issued the new token; its answer may still be on the way to the session)
    await expect.poll(async () => (await s.accessToken()).token, { timeout: 5_000 }).not.toBe(first.token);
    // refresh tokens rotate: the old one is gone
    expect(server.refreshTokens.size).toBe(1);

    server.failWith = 503;
    await waitFor(() => changes.some((c) => c.offline === true), 'offline while the server fails', 5_000);
    expect(s.state()).toMatchObject({ status: 'signed_in', offline: true, operator: { id: 'staff-anna' } });
    server.failWith = null;
    await waitFor(() => s.state().offline !== true, 'back online', 5_000);
    expect(s.state().status).toBe('signed_in');
    await expect(s.accessToken()).resolves.toMatchObject({ operator: { id: 'staff-anna' } });
  });

  it('a refresh token the server refuses ends the session with a reason; auto sign-in then signs in again', async () => {
    server = await startFakeServer();
    server.accounts.set('anna@ops.example', { password: 'pw-anna', staff: ANNA });
    const { s } = make();
    await s.start();
    await s.signIn('anna@ops.example', 'pw-anna');
    server.refreshTokens.clear();
    s.invalidateAccessToken();
    await expect(s.accessToken()).rejects.toMatchObject({ code: 'signed_out' });
    expect(s.state()).toMatchObject({ status: 'signed_out', error: expect.stringMatching(/expired/) });

    const auto = make({ autoSignIn: { email: 'anna@ops.example', password: 'pw-anna' } });
    await auto.s.start();
    await waitFor(() => auto.s.state().status === 'signed_in', 'auto sign-in');
    server.refreshTokens.clear();
    auto.s.invalidateAccessToken();
    await auto.s.accessToken().catch(() => undefined);
    await waitFor(() => auto.s.state().status === 'signed_in', 'auto sign-in again after the session ended');
    // an explicit sign-out is not undone by the auto sign-in
    await auto.s.signOut();
    await new Promise((r) => setTimeout(r, 100));
    expect(auto.s.state().status).toBe('signed_out');
  });

  it('auto sign-in waits for an unreachable server; a refused account stops it with a message', async () => {
    server = await startFakeServer();
    server.accounts.set('anna@ops.example', { password: 'pw-anna', staff: ANNA });
    server.failWith = 502;
    const { s } = make({ autoSignIn: { email: 'anna@ops.example', password: 'pw-anna' } });
    await s.start();
    await waitFor(() => server!.hits.get('/ops/v1/auth/login')! >= 2, 'retries');
    expect(s.state().status).toBe('signed_out');
    server.failWith = null;
    await waitFor(() => s.state().status === 'signed_in', 'signed in once the server is back');

    const bad = make({ autoSignIn: { email: 'anna@ops.example', password: 'nope' } });
    await bad.s.start();
    await waitFor(() => bad.s.state().error !== undefined, 'refused');
    expect(bad.s.state()).toMatchObject({ status: 'signed_out', error: expect.stringMatching(/refused/) });
  });

  it('a stored session opens signed in with the server down, and refreshes once it is back', async () => {
    server = await startFakeServer();
    server.accounts.set('anna@ops.example', { password: 'pw-anna', staff: ANNA });
    const vault = memoryVault();
    const first = make({ vault });
    await first.s.start();
    await first.s.signIn('anna@ops.example', 'pw-anna');
    await waitFor(() => vault.value !== undefined, 'stored');
    expect(vault.value).toMatchObject({ operator: { id: 'staff-anna', role: 'support' } });
    first.s.stop();

    server.failWith = 503;
    const second = make({ vault });
    await second.s.start();
    expect(second.s.state()).toMatchObject({ status: 'signed_in', operator: { id: 'staff-anna' } });
    await waitFor(() => second.s.state().offline === true, 'offline');
    await expect(second.s.accessToken()).rejects.toMatchObject({ code: 'server_unreachable' });
    server.failWith = null;
    await waitFor(() => second.s.state().offline !== true, 'refreshed');
    await expect(second.s.accessToken()).resolves.toMatchObject({ operator: { id: 'staff-anna' } });
    await second.s.signOut();
    expect(vault.value).toBeUndefined();
  });
});

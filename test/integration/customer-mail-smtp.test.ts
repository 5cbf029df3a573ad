/**
 * Customer mails through a real SMTP peer (issue 13: a production deployment needs a real mail provider). An
 * in-process smtp-server on a free port, with STARTTLS on a certificate made here and AUTH only after TLS, stands
 * in for the provider; the server under test sends through nodemailer with MAIL_SMTP_URL, verifying the
 * certificate against MAIL_SMTP_CA_FILE.
 *
 * - a sign-up's confirmation code arrives (over TLS, signed in) and signs the customer in;
 * - a 421 (deferred) and a refused connection are retried with backoff, and the mail arrives once;
 * - a 550 (no such mailbox) fails the mail at once: counted, its code cleared, never tried again, the server serving;
 * - a restart on the same database sends nothing twice, and delivers what was waiting for a retry;
 * - the adapter on its own: TLS from the first byte (smtps://), a certificate it cannot verify refused, a refused
 *   sign-in retried — and the SMTP password appears in no log line.
 * On PGlite and, with DATABASE_URL, PostgreSQL.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSelfSignedCert } from '../../scripts/self-signed-cert.mjs';
import { confirmationToken } from '../../src/shared/sandbox-mailbox.js';
import { startServer, type ServerHandle } from '../../server/src/app.js';
import { MailOutbox, MailRejectedError } from '../../server/src/components/customers/domain/customer-mail.js';
import { SmtpMailDelivery } from '../../server/src/components/customers/domain/smtp-mail.js';
import { enqueueMail } from '../../server/src/components/customers/data/signups.repository.js';
import type { ServerConfig } from '../../server/src/platform/config.js';
import { createLogger } from '../../server/src/platform/log.js';
import { dbBackends } from '../../server/src/testing/backends.js';
import { waitFor } from '../../server/src/testing/devices.js';
import { metricValue } from '../../server/src/testing/metrics.js';
import { startSmtpPeer, type RcptAnswer, type SmtpPeer } from '../../server/src/testing/smtp-peer.js';

const USER = 'fleetdesk-mailer';
// characters that must be URL-encoded in MAIL_SMTP_URL, and a value easy to find in a log line
const PASS = 'S3cr3t:p@ss/word-7f41';
const smtpUrl = (port: number, scheme = 'smtp', pass = PASS) =>
  `${scheme}://${encodeURIComponent(USER)}:${encodeURIComponent(pass)}@127.0.0.1:${port}`;

/**
 * How each test address is answered at RCPT TO: `bounce-…` refused (550), `defer-N-…` deferred (421) N times then
 * accepted, an address in `held` deferred until it leaves the set.
 */
function answerByAddress(held: Set<string>): (address: string) => RcptAnswer {
  const deferred = new Map<string, number>();
  return (address) => {
    if (address.startsWith('bounce-')) return 'refuse';
    if (held.has(address)) return 'defer';
    const times = /^defer-(\d+)-/.exec(address);
    if (times) {
      const seen = deferred.get(address) ?? 0;
      deferred.set(address, seen + 1);
      if (seen < Number(times[1])) return 'defer';
    }
    return 'accept';
  };
}

interface OutboxRow {
  attempts: number;
  delivered: boolean;
  failed: boolean;
  body: string;
  last_error: string | null;
}

async function outboxRow(server: ServerHandle, to: string): Promise<OutboxRow | undefined> {
  const { rows } = await server.db.query<OutboxRow>(
    `select attempts, delivered_at is not null as delivered, failed_at is not null as failed, body, last_error
       from mail_outbox where to_address = $1`,
    [to],
  );
  return rows[0];
}

async function signUp(server: ServerHandle, email: string): Promise<void> {
  const res = await fetch(`${server.httpUrl}/v1/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'a-long-enough-password', name: 'Mail Test', phone: '+49301234567' }),
  });
  expect(res.status).toBe(202);
}

describe.each(dbBackends(process.env, { durable: true }))('customer mails over SMTP on $name', (backend) => {
  let dir: string;
  let cert: { cert: string; key: string };
  let peer: SmtpPeer;
  let server: ServerHandle;
  let cleanup: (() => Promise<void>) | undefined;
  let settings: Partial<ServerConfig>;
  const held = new Set<string>();
  const answer = answerByAddress(held);
  const address = (prefix: string) => `${prefix}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@customers.example`;
  const receivedBy = (to: string) => peer.received.filter((m) => m.to.includes(to));
  /** Sweeps the outbox (retries come due on their own time) until `check` holds; its value. */
  const sweepUntil = <T>(check: () => Promise<T> | T, what: string) =>
    waitFor(
      async () => {
        await server.customers.deliverMail();
        return check();
      },
      { what, intervalMs: 100, timeoutMs: 20_000 },
    );
  const rowWhen = (email: string, holds: (row: OutboxRow) => boolean) => async () => {
    const row = await outboxRow(server, email);
    return row && holds(row) ? row : undefined;
  };

  const startPeer = async (port?: number) =>
    startSmtpPeer({
      cert: readFileSync(cert.cert, 'utf8'),
      key: readFileSync(cert.key, 'utf8'),
      user: USER,
      pass: PASS,
      answer,
      ...(port === undefined ? {} : { port }),
    });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetdesk-smtp-'));
    const made = makeSelfSignedCert(join(dir, 'tls'), 'smtp', 1);
    if (!made) throw new Error('openssl could not make the test certificate');
    cert = made;
    peer = await startPeer();
    const created = await backend.create();
    cleanup = created.cleanup;
    settings = {
      ...created.overrides,
      port: 0,
      mqttPort: 0,
      mqttAuth: 'off',
      seedVehicles: 0,
      logLevel: 'silent',
      mailSmtpUrl: smtpUrl(peer.port),
      mailFrom: 'Fleetdesk <no-reply@fleetdesk.example>',
      mailSmtpCaFile: cert.cert,
      mailRetryBaseMs: 100,
      mailMaxAttempts: 6,
    };
    server = await startServer(settings);
  });
  afterAll(async () => {
    await server?.stop();
    await peer?.stop();
    await cleanup?.();
    await rm(dir, { recursive: true, force: true });
  });

  it("a sign-up's confirmation code arrives over TLS, signed in, and signs the customer in", async () => {
    const email = address('anna');
    await signUp(server, email);
    const [mail] = await waitFor(() => (receivedBy(email).length > 0 ? receivedBy(email) : undefined), { what: 'the mail' });
    expect(mail).toMatchObject({ from: 'no-reply@fleetdesk.example', to: [email], authenticatedOverTls: true, user: USER });
    expect(mail!.subject).toBe('Confirm your Fleetdesk account');
    expect(mail!.messageId).toMatch(/^<[0-9a-f-]{36}@fleetdesk\.example>$/);
    const token = confirmationToken(mail!.text);
    expect(token).toMatch(/\S{16,}/);
    const verified = await fetch(`${server.httpUrl}/v1/auth/verify-email`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, token }),
    });
    expect(verified.status).toBe(200);
    expect(await outboxRow(server, email)).toEqual({ attempts: 1, delivered: true, failed: false, body: '', last_error: null });
    // nothing went to the sandbox mailbox
    expect(server.customers.sandboxMails(email)).toEqual([]);
  });

  it('a 421 is retried with backoff and the mail arrives once', async () => {
    const retriesBefore = await metricValue(server.metrics, 'fleetdesk_mail_deliveries_total', { outcome: 'retry' });
    const email = address('defer-2');
    await signUp(server, email);
    await sweepUntil(() => receivedBy(email).length > 0, 'the deferred mail');
    expect(peer.rcptAttempts.filter((a) => a === email)).toHaveLength(3);
    expect(receivedBy(email)).toHaveLength(1);
    const row = await outboxRow(server, email);
    expect(row).toMatchObject({ attempts: 3, delivered: true, failed: false, body: '' });
    expect(row!.last_error).toMatch(/421/);
    expect(await metricValue(server.metrics, 'fleetdesk_mail_deliveries_total', { outcome: 'retry' })).toBe(retriesBefore + 2);
  });

  it('a 550 fails the mail at once: counted, its code cleared, never tried again; the server keeps serving', async () => {
    const failedBefore = await metricValue(server.metrics, 'fleetdesk_mail_deliveries_total', { outcome: 'failed' });
    const email = address('bounce');
    await signUp(server, email);
    const row = await sweepUntil(
      rowWhen(email, (r) => r.failed),
      'the refused mail marked failed',
    );
    expect(row).toMatchObject({ attempts: 1, delivered: false, failed: true, body: '' });
    expect(row.last_error).toMatch(/550/);
    expect(await metricValue(server.metrics, 'fleetdesk_mail_deliveries_total', { outcome: 'failed' })).toBe(failedBefore + 1);
    // sweeps after it leave it alone
    await server.customers.deliverMail();
    await server.db.query(`update mail_outbox set created_at = now() - interval '1 hour' where to_address = $1`, [email]);
    expect(await server.customers.deliverMail()).toBe(0);
    expect(peer.rcptAttempts.filter((a) => a === email)).toHaveLength(1);
    expect(receivedBy(email)).toEqual([]);
    expect((await fetch(`${server.httpUrl}/health`)).status).toBe(200);
  });

  it('the mail server down (connection refused): retried until it is back, delivered once', async () => {
    const port = peer.port;
    await peer.stop();
    const email = address('outage');
    await signUp(server, email);
    const waiting = await sweepUntil(
      rowWhen(email, (r) => r.attempts >= 2),
      'two refused attempts',
    );
    expect(waiting).toMatchObject({ delivered: false, failed: false });
    expect(waiting.last_error).toMatch(/ECONNECTION|ESOCKET|ECONNREFUSED/);
    expect(waiting.body).toContain('Confirmation code:');
    const received = peer.received;
    peer = await startPeer(port);
    peer.received.push(...received);
    await sweepUntil(() => receivedBy(email).length > 0, 'the mail after the outage');
    expect(receivedBy(email)).toHaveLength(1);
    expect(await outboxRow(server, email)).toMatchObject({ delivered: true, body: '' });
  });

  it('a restart sends nothing twice and delivers what was waiting for a retry', async () => {
    const delivered = address('before-restart');
    await signUp(server, delivered);
    await waitFor(() => receivedBy(delivered).length > 0, { what: 'the first mail' });
    // one waiting for a retry when the server stops (deferred until the restart)
    const waiting = address('held');
    held.add(waiting);
    await signUp(server, waiting);
    await waitFor(
      rowWhen(waiting, (r) => r.attempts >= 1),
      { what: 'a first deferred attempt' },
    );
    await server.stop();

    server = await startServer(settings);
    expect(await outboxRow(server, waiting)).toMatchObject({ delivered: false, failed: false });
    held.delete(waiting);
    await sweepUntil(() => receivedBy(waiting).length > 0, 'the waiting mail after the restart');
    // and any further sweeps send nothing again
    await server.customers.deliverMail();
    expect(receivedBy(delivered)).toHaveLength(1);
    expect(receivedBy(waiting)).toHaveLength(1);
    const ids = peer.received.map((m) => m.messageId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('the adapter: smtps:// from the first byte; an unverifiable certificate and a refused sign-in are transient; no password in any log line', async () => {
    const secure = await startSmtpPeer({
      cert: readFileSync(cert.cert, 'utf8'),
      key: readFileSync(cert.key, 'utf8'),
      user: USER,
      pass: PASS,
      secure: true,
    });
    const lines: string[] = [];
    const log = createLogger({
      level: 'debug',
      destination: new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    });
    const base = { from: 'no-reply@fleetdesk.example', tls: 'required' as const, timeoutMs: 5_000 };
    const mail = (to: string) => ({
      id: `adapter-${to}`,
      to,
      kind: 'verify_email' as const,
      subject: 'Adapter',
      body: 'Confirmation code: x',
    });
    try {
      const good = new SmtpMailDelivery({ ...base, url: smtpUrl(secure.port, 'smtps'), caFile: cert.cert });
      await good.deliver(mail('tls@customers.example'));
      expect(secure.received.map((m) => [m.to, m.authenticatedOverTls])).toEqual([[['tls@customers.example'], true]]);
      expect(good.description).not.toContain(encodeURIComponent(PASS));
      good.close();

      // without the CA: the self-signed certificate is not trusted, nothing is sent (transient: a fixed setting delivers)
      const untrusted = new SmtpMailDelivery({ ...base, url: smtpUrl(secure.port, 'smtps') });
      const notTrusted = await untrusted.deliver(mail('untrusted@customers.example')).catch((e: unknown) => e);
      expect(notTrusted).toBeInstanceOf(Error);
      expect(notTrusted).not.toBeInstanceOf(MailRejectedError);
      untrusted.close();

      // a refused sign-in (535) is the server's configuration, not the mail's fault: retried, not failed — and logged
      // by the outbox without the password, through the URL or the error
      const wrong = new SmtpMailDelivery({ ...base, url: smtpUrl(secure.port, 'smtps', `${PASS}-wrong`), caFile: cert.cert });
      const outbox = new MailOutbox(server.db, wrong, log, { retryBaseMs: 60_000 });
      const refused = mail(`refused-login-${Date.now()}@customers.example`);
      await server.db.transaction((tx) => enqueueMail(tx, refused));
      outbox.send(refused);
      await outbox.deliverPending();
      await outbox.stop();
      expect(secure.received).toHaveLength(1);
      const retryLine = lines.find((l) => l.includes('mail delivery failed; retried later'));
      expect(retryLine).toMatch(/535/);
      for (const line of lines) {
        expect(line).not.toContain(PASS);
        expect(line).not.toContain(encodeURIComponent(PASS));
      }
    } finally {
      await secure.stop();
    }
  });
});

/**
 * The mail outbox across instances (two outboxes on one database, as two server instances have): a fresh mail is
 * delivered once, by the instance that wrote it — another instance's sweep leaves it alone — and a mail left
 * behind (its writer crashed before delivering) is delivered by whichever sweep comes after MAIL_LEFT_BEHIND_MS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../../app.js';
import { createLogger } from '../../../platform/log.js';
import { dbBackends } from '../../../testing/backends.js';
import { enqueueMail } from '../data/signups.repository.js';
import { MailOutbox, SandboxMailbox } from './customer-mail.js';

describe.each(dbBackends())('mail outbox on $name', (backend) => {
  let server: ServerHandle;
  let cleanup: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    server = await startServer({ ...created.overrides, port: 0, mqttPort: 0, mqttAuth: 'off', seedVehicles: 0, logLevel: 'silent' });
  });
  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  const mail = (n: string) => ({
    id: `mail-${n}-${Date.now()}`,
    to: `${n}@example.test`,
    kind: 'verify_email' as const,
    subject: 's',
    body: `code ${n}`,
  });

  it('a fresh mail goes out once, through the instance that wrote it; a left-behind one through any sweep', async () => {
    // the server's own outbox sweeps on a timer: stopped, so that only A and B deliver here
    await server.customers.stop();
    const log = createLogger({ level: 'silent' });
    const mailboxA = new SandboxMailbox(undefined);
    const mailboxB = new SandboxMailbox(undefined);
    const a = new MailOutbox(server.db, mailboxA, log);
    const b = new MailOutbox(server.db, mailboxB, log);

    const fresh = mail('fresh');
    await server.db.transaction((tx) => enqueueMail(tx, fresh));
    // B sweeps before A delivers: the mail is A's to send
    expect(await b.deliverPending()).toBe(0);
    a.send(fresh);
    await a.deliverPending();
    expect(mailboxA.read(fresh.to).map((m) => m.body)).toEqual(['code fresh']);
    expect(mailboxB.read(fresh.to)).toEqual([]);
    expect(await b.deliverPending()).toBe(0);

    // written by an instance that died before delivering it: pending, and old
    const orphan = mail('orphan');
    await server.db.transaction((tx) => enqueueMail(tx, orphan));
    await server.db.query(`update mail_outbox set created_at = now() - interval '5 minutes' where id = $1`, [orphan.id]);
    expect(await b.deliverPending()).toBe(1);
    expect(mailboxB.read(orphan.to).map((m) => m.body)).toEqual(['code orphan']);
    // delivered once: nobody sends it again, and the code is not kept
    expect(await a.deliverPending()).toBe(0);
    const { rows } = await server.db.query<{ body: string; delivered: boolean }>(
      'select body, delivered_at is not null as delivered from mail_outbox where id = $1',
      [orphan.id],
    );
    expect(rows[0]).toEqual({ body: '', delivered: true });
  });
});

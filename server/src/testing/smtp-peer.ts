/**
 * A real SMTP server in the test's process (smtp-server, by nodemailer's authors) for the mail adapter's tests:
 * STARTTLS (or TLS from the first byte) with a certificate the test made, AUTH PLAIN/LOGIN only after TLS, and a
 * failure mode per recipient — `answer(address)` decides whether RCPT TO is accepted (250), deferred (421) or
 * refused (550). It keeps every message it accepted, decoded, and every RCPT TO it was asked.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  messageId: string;
  subject: string;
  /** the text body, its transfer encoding undone */
  text: string;
  /** TLS was on when the client signed in */
  authenticatedOverTls: boolean;
  user: string | undefined;
}

export type RcptAnswer = 'accept' | 'defer' | 'refuse';

export interface SmtpPeerOptions {
  cert: string;
  key: string;
  user: string;
  pass: string;
  /** TLS from the first byte (smtps://) instead of STARTTLS */
  secure?: boolean;
  /** a port to listen on (restarting a stopped peer on its old port); default a free one */
  port?: number;
  answer?: (address: string) => RcptAnswer;
}

export interface SmtpPeer {
  port: number;
  received: ReceivedMail[];
  /** every RCPT TO address the peer was asked, in order (accepted or not) */
  rcptAttempts: string[];
  answer: (address: string) => RcptAnswer;
  stop(): Promise<void>;
}

export async function startSmtpPeer(options: SmtpPeerOptions): Promise<SmtpPeer> {
  const peer: SmtpPeer = {
    port: 0,
    received: [],
    rcptAttempts: [],
    answer: options.answer ?? (() => 'accept'),
    stop: async () => undefined,
  };
  const tlsAtAuth = new WeakMap<SMTPServerSession, boolean>();
  const server = new SMTPServer({
    secure: options.secure === true,
    key: options.key,
    cert: options.cert,
    authMethods: ['PLAIN', 'LOGIN'],
    // sign-in only over TLS (the default); the client must upgrade first
    allowInsecureAuth: false,
    logger: false,
    disableReverseLookup: true,
    onAuth(auth, session, callback) {
      if (auth.username !== options.user || auth.password !== options.pass) {
        const err = Object.assign(new Error('Authentication credentials invalid'), { responseCode: 535 });
        callback(err);
        return;
      }
      tlsAtAuth.set(session, session.secure);
      callback(null, { user: auth.username });
    },
    onRcptTo(address, _session, callback) {
      peer.rcptAttempts.push(address.address);
      const answer = peer.answer(address.address);
      if (answer === 'defer') callback(Object.assign(new Error('Try again later'), { responseCode: 421 }));
      else if (answer === 'refuse') callback(Object.assign(new Error('No such mailbox'), { responseCode: 550 }));
      else callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        peer.received.push({
          ...parseMessage(raw),
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          authenticatedOverTls: tlsAtAuth.get(session) === true,
          user: typeof session.user === 'string' ? session.user : undefined,
        });
        callback(null, 'Queued');
      });
    },
  });
  // a client that gave up mid-handshake (an untrusted certificate) is the client's business, not an error here
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  peer.port = (server.server.address() as AddressInfo).port;
  peer.stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return peer;
}

/** Message-ID, Subject and the text body of a single-part message (7bit, quoted-printable or base64). */
function parseMessage(raw: string): { messageId: string; subject: string; text: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const body = raw.slice(split + 4);
  const header = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(head)?.[1]?.trim() ?? '';
  const encoding = header('Content-Transfer-Encoding').toLowerCase();
  const text =
    encoding === 'quoted-printable'
      ? Buffer.from(
          body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
          'latin1',
        ).toString('utf8')
      : encoding === 'base64'
        ? Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8')
        : body;
  return { messageId: header('Message-ID'), subject: header('Subject'), text: text.replace(/\r\n/g, '\n') };
}

/**
 * Customer mails through an SMTP server (MAIL_SMTP_URL), with nodemailer. TLS: `smtps://` speaks TLS from the first
 * byte; `smtp://` must upgrade with STARTTLS before anything (the password included) is sent, unless MAIL_SMTP_TLS=off;
 * the server's certificate is always verified (MAIL_SMTP_CA_FILE for a private CA). One connection per mail: sign-up
 * mails are few, and nothing is left open between them.
 *
 * Failures: a 5xx answer to this mail's recipient or content (RCPT TO, DATA) refuses the mail for good
 * (MailRejectedError); everything else — connection refused or cut, timeouts, TLS, 4xx answers, a refused login or
 * sender (the server's configuration, not the mail) — is transient for the outbox, which retries it.
 */
import { readFileSync } from 'node:fs';
import { createTransport, type Transporter } from 'nodemailer';
import { redactUrl } from '../../../../../src/shared/redact-url.js';
import type { OutboxMail } from '../data/signups.repository.js';
import { MailRejectedError, type MailDelivery } from './customer-mail.js';

export interface SmtpSettings {
  /** smtp(s)://[user:pass@]host[:port] */
  url: string;
  /** the sender (`address` or `Name <address>`) */
  from: string;
  tls: 'required' | 'off';
  /** PEM file of the CA(s) the server's certificate must chain to; unset: the system's */
  caFile?: string;
  /** connection, greeting, and each command's answer */
  timeoutMs: number;
}

/** What nodemailer puts on its errors (dist/esm/errors.d.ts, smtp-connection `_formatError`). */
interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  command?: string;
  permanent?: boolean;
}

/** The commands whose 5xx answer is about this mail (its recipient, its content), not about the server's settings. */
const MAIL_COMMANDS = new Set(['RCPT TO', 'DATA']);

export function isPermanentRefusal(err: SmtpError): boolean {
  return err.permanent === true && err.command !== undefined && MAIL_COMMANDS.has(err.command);
}

export class SmtpMailDelivery implements MailDelivery {
  readonly description: string;
  private readonly transport: Transporter;
  private readonly messageIdDomain: string;

  constructor(private readonly settings: SmtpSettings) {
    const url = new URL(settings.url);
    const secure = url.protocol === 'smtps:';
    this.description = `SMTP ${redactUrl(settings.url)}`;
    const address = /<([^>]+)>/.exec(settings.from)?.[1] ?? settings.from;
    this.messageIdDomain = address.split('@')[1] ?? 'fleetdesk';
    this.transport = createTransport({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port === '' ? (secure ? 465 : 587) : Number(url.port),
      secure,
      requireTLS: !secure && settings.tls === 'required',
      ignoreTLS: settings.tls === 'off',
      ...(url.username === '' ? {} : { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } }),
      tls: {
        minVersion: 'TLSv1.2',
        rejectUnauthorized: true,
        ...(settings.caFile === undefined ? {} : { ca: readFileSync(settings.caFile, 'utf8') }),
      },
      connectionTimeout: settings.timeoutMs,
      greetingTimeout: settings.timeoutMs,
      socketTimeout: settings.timeoutMs,
      dnsTimeout: settings.timeoutMs,
      // the mails are plain text made here: nothing may be read from files or URLs
      disableFileAccess: true,
      disableUrlAccess: true,
      logger: false,
      debug: false,
    });
  }

  async deliver(mail: OutboxMail): Promise<void> {
    try {
      await this.transport.sendMail({
        from: this.settings.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.body,
        // one id per outbox mail: a mail that went out twice (its outcome lost to a crash) reads as one to the receiver
        messageId: `<${mail.id}@${this.messageIdDomain}>`,
      });
    } catch (err) {
      const e = err as SmtpError;
      const what = [e.code, e.command].filter(Boolean).join(' ');
      const message = `${what ? `${what}: ` : ''}${e.message}`;
      if (isPermanentRefusal(e)) throw new MailRejectedError(message);
      throw new Error(message, { cause: err });
    }
  }

  /** Connects, greets, upgrades and signs in without sending anything: whether the settings work (start). */
  async verify(): Promise<void> {
    await this.transport.verify();
  }

  close(): void {
    this.transport.close();
  }
}

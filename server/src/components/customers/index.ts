/**
 * The customers component: customer accounts (sign-up, login, profile), driver licences checked through the
 * licence-check provider contract (domain/licence-provider.ts; the sandbox provider by default) by a durable
 * worker, eligibility for other components, and the support agents' customer tools under /ops/v1/customers.
 * Other components reach it only through this file.
 *
 *   registerRoutes(app, '/v1')     → the customer API (auth, /me, /me/driver-licence)
 *   registerRoutes(app, '/ops/v1') → the staff routes (search, detail, block/unblock)
 */
import type { Registry } from 'prom-client';
import type { AuthService } from '../../platform/auth/index.js';
import type { ServerConfig } from '../../platform/config.js';
import type { Db } from '../../platform/db/index.js';
import type { HttpApp } from '../../platform/http/index.js';
import type { Logger } from '../../platform/log.js';
import { recordAudit } from '../audit/index.js';
import { customerStaffRoutes } from './api/customers-staff.routes.js';
import { customerRoutes } from './api/customers.routes.js';
import type { SandboxMail } from '../../../../src/shared/sandbox-mailbox.js';
import { CustomerAccounts, type CustomerEligibility } from './domain/customer-accounts.js';
import { MailOutbox, SandboxMailbox, type MailDelivery } from './domain/customer-mail.js';
import { SmtpMailDelivery } from './domain/smtp-mail.js';
import { CustomerSupport, type CustomerNotesPort, type CustomerRentalsPort } from './domain/customer-support.js';
import type { LicenceCheckProvider } from './domain/licence-provider.js';
import { LicenceWorker, type LicenceProviderHealth } from './domain/licence-worker.js';
export type { LicenceProviderHealth } from './domain/licence-worker.js';
import { SandboxLicenceProvider } from './domain/sandbox-licence-provider.js';

export type { CustomerEligibility, LicenceStatus } from './domain/customer-accounts.js';
export type { CustomerNotesPort, CustomerRentalsPort } from './domain/customer-support.js';
export {
  LicenceProviderError,
  type LicenceCheckDecision,
  type LicenceCheckProvider,
  type LicenceCheckRequest,
} from './domain/licence-provider.js';
export { SandboxLicenceProvider } from './domain/sandbox-licence-provider.js';
export { customerId as requestCustomerId } from './api/customers.routes.js';
export { customerDocs } from './data/customer-docs.js';

export interface CustomersComponent {
  /** What bookings asks before a customer creates something: exists, blocked, licence status as of today. */
  eligibility(customerId: string): Promise<CustomerEligibility>;
  /** 404 `customer_not_found` / 403 `customer_blocked`, for routes that create something. */
  assertActive(customerId: string): Promise<void>;
  /** '/v1' → customer routes; '/ops/v1' (any prefix starting with /ops) → staff routes. */
  registerRoutes(app: HttpApp, prefix: string): Promise<void>;
  registerCustomerRoutes(app: HttpApp, prefix: string): Promise<void>;
  registerStaffRoutes(app: HttpApp, prefix: string): Promise<void>;
  /** The mails the sandbox mailbox delivered to `address` (tests: a sign-up's confirmation code); none with SMTP. */
  sandboxMails(address: string): SandboxMail[];
  /** Delivers this instance's mails in flight and every due one now; how many were delivered (tests). */
  deliverMail(): Promise<number>;
  /** Processes every due licence check now (tests). */
  drainLicenceChecks(): Promise<void>;
  /** the licence provider's recent answers as this instance saw them (integration health) */
  licenceProviderHealth(): LicenceProviderHealth;
  /** the sandbox licence provider when it is the one in use (its settings change at run time: outages in chaos runs) */
  licenceSandbox: SandboxLicenceProvider | undefined;
  stop(): Promise<void>;
}

export type LicenceSettings = Pick<
  ServerConfig,
  'licenceCheckTimeoutMs' | 'licenceRetryBaseMs' | 'licenceSandboxLatencyMs' | 'licenceSandboxFailurePct'
>;

export type MailSettings = Pick<
  ServerConfig,
  'mailSmtpUrl' | 'mailFrom' | 'mailSmtpTls' | 'mailSmtpCaFile' | 'mailSmtpTimeoutMs' | 'mailRetryBaseMs' | 'mailMaxAttempts'
>;

export interface CustomersOptions {
  db: Db;
  log: Logger;
  metrics: Registry;
  auth: AuthService;
  licence: LicenceSettings;
  /** the licence-check provider; default: the sandbox with the configured latency and failure rate */
  licenceProvider?: LicenceCheckProvider;
  /** rentals for the staff detail (bookings; may be wired after start: it is only called per request) */
  rentals?: CustomerRentalsPort;
  /** notes about customers for the staff detail (ops) */
  notes?: CustomerNotesPort;
  licencePollIntervalMs?: number;
  now?: () => number;
  /** the data directory the sandbox mailbox writes to (`<dir>/sandbox-mailbox/`); undefined: memory only (tests) */
  mailDir?: string;
  /** customer mails: SMTP when `mailSmtpUrl` is set, else the sandbox mailbox; retries (default: the config's) */
  mail?: Partial<MailSettings>;
  /** how often the mail outbox sweeps for due retries and left-behind mails (default 5 s) */
  mailPollIntervalMs?: number;
}

export async function startCustomersComponent(options: CustomersOptions): Promise<CustomersComponent> {
  const log = options.log.child({ component: 'customers' });
  const provider =
    options.licenceProvider ??
    new SandboxLicenceProvider({
      latencyMs: options.licence.licenceSandboxLatencyMs,
      failurePct: options.licence.licenceSandboxFailurePct,
    });
  const licenceSandbox = provider instanceof SandboxLicenceProvider ? provider : undefined;
  const worker = new LicenceWorker({
    db: options.db,
    provider,
    log,
    metrics: options.metrics,
    timeoutMs: options.licence.licenceCheckTimeoutMs,
    retryBaseMs: options.licence.licenceRetryBaseMs,
    ...(options.licencePollIntervalMs === undefined ? {} : { pollIntervalMs: options.licencePollIntervalMs }),
  });
  const mailbox = new SandboxMailbox(options.mailDir);
  const smtp = smtpDelivery(options.mail);
  const delivery: MailDelivery = smtp ?? mailbox;
  const mail = new MailOutbox(options.db, delivery, log, {
    ...(options.mail?.mailRetryBaseMs === undefined ? {} : { retryBaseMs: options.mail.mailRetryBaseMs }),
    ...(options.mail?.mailMaxAttempts === undefined ? {} : { maxAttempts: options.mail.mailMaxAttempts }),
    ...(options.mailPollIntervalMs === undefined ? {} : { pollIntervalMs: options.mailPollIntervalMs }),
    metrics: options.metrics,
  });
  mail.start();
  if (smtp) {
    log.info('customer mails go out through SMTP', { mail: smtp.description, from: options.mail?.mailFrom });
    // whether the settings work, said at start; an unreachable server does not stop the start (mails wait in the outbox)
    smtp.verify().then(
      () => log.info('SMTP server reachable: connected, TLS and sign-in accepted', { mail: smtp.description }),
      (err: unknown) =>
        log.warn('SMTP server not usable yet; customer mails wait in the outbox and are retried', {
          mail: smtp.description,
          error: err instanceof Error ? err.message : String(err),
        }),
    );
  }
  const accounts = new CustomerAccounts(
    options.db,
    options.auth,
    log,
    mail,
    () => worker.kick(),
    () => worker.countExpired(),
    options.now,
  );
  const support = new CustomerSupport(options.db, recordAudit, { rentals: options.rentals, notes: options.notes }, log, options.now);
  worker.start();
  log.info('customers started', { licenceProvider: provider.name, mail: delivery.description });

  const registerCustomerRoutes = async (app: HttpApp, prefix: string) => {
    await app.register(customerRoutes(accounts), { prefix });
  };
  const registerStaffRoutes = async (app: HttpApp, prefix: string) => {
    await app.register(customerStaffRoutes(support), { prefix });
  };
  return {
    eligibility: (id) => accounts.eligibility(id),
    sandboxMails: (address) => mailbox.read(address),
    deliverMail: () => mail.deliverPending(),
    assertActive: (id) => accounts.assertActive(id),
    registerRoutes: (app, prefix) => (prefix.startsWith('/ops') ? registerStaffRoutes(app, prefix) : registerCustomerRoutes(app, prefix)),
    registerCustomerRoutes,
    registerStaffRoutes,
    drainLicenceChecks: () => worker.drain(),
    licenceProviderHealth: () => worker.providerHealth(),
    licenceSandbox,
    stop: async () => {
      await worker.stop();
      await mail.stop();
    },
  };
}

function smtpDelivery(settings: Partial<MailSettings> | undefined): SmtpMailDelivery | undefined {
  if (settings?.mailSmtpUrl === undefined) return undefined;
  if (settings.mailFrom === undefined) throw new Error('MAIL_FROM is required with MAIL_SMTP_URL');
  return new SmtpMailDelivery({
    url: settings.mailSmtpUrl,
    from: settings.mailFrom,
    tls: settings.mailSmtpTls ?? 'required',
    timeoutMs: settings.mailSmtpTimeoutMs ?? 10_000,
    ...(settings.mailSmtpCaFile === undefined ? {} : { caFile: settings.mailSmtpCaFile }),
  });
}

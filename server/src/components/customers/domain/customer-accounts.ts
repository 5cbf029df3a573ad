/**
 * Customer self-service: sign-up, login/refresh/logout (through the shared auth mechanics), the profile, the
 * driver licence (queued for the licence worker), and eligibility — what other components (bookings) ask before
 * letting a customer create something.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { CONFIRMATION_TOKEN_LABEL } from '../../../../../src/shared/sandbox-mailbox.js';
import { AppError } from '../../../../../src/shared/errors.js';
import type { AuthService, Session } from '../../../platform/auth/index.js';
import type { Db } from '../../../platform/db/index.js';
import type { Logger } from '../../../platform/log.js';
import { customerExists, findCustomerCredentials, getCustomer, insertCustomer, setLicence } from '../data/customers.repository.js';
import type { CustomerRecord } from '../model.js';
import { insertCheck } from '../data/licence-checks.repository.js';
import { emailTaken, enqueueMail, takeSignup, upsertSignup, type OutboxMail } from '../data/signups.repository.js';
import type { MailOutbox } from './customer-mail.js';
import { isIsoCountry } from './iso-countries.js';

export type LicenceStatus = 'none' | 'pending' | 'verified' | 'rejected' | 'expired';

export interface CustomerEligibility {
  customerId: string;
  exists: boolean;
  blocked: boolean;
  licenceStatus: LicenceStatus;
}

export interface SignUpInput {
  email: string;
  password: string;
  name: string;
  phone: string;
}

/** How long a sign-up's confirmation code is valid. */
export const SIGNUP_CONFIRM_TTL_MS = 24 * 3_600_000;

/** The one answer to every well-formed sign-up. */
export const SIGN_UP_ACCEPTED = Object.freeze({
  status: 'confirmation_sent' as const,
  detail:
    'If this address can be used for a new account, a confirmation code is on its way to it (valid 24 h): send it to POST /v1/auth/verify-email to finish. If the address already has an account, its owner gets a notice instead.',
});
export type SignUpAccepted = typeof SIGN_UP_ACCEPTED;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function confirmationMail(to: string, token: string): OutboxMail {
  return {
    id: randomUUID(),
    to,
    kind: 'verify_email',
    subject: 'Confirm your Fleetdesk account',
    body: [
      'Welcome to Fleetdesk. To finish signing up, enter this code in the app (it is valid for 24 hours):',
      '',
      `${CONFIRMATION_TOKEN_LABEL} ${token}`,
      '',
      'If you did not sign up, ignore this mail: no account is created without the code.',
    ].join('\n'),
  };
}

function signupNoticeMail(to: string): OutboxMail {
  return {
    id: randomUUID(),
    to,
    kind: 'signup_notice',
    subject: 'Someone tried to sign up with your address',
    body: [
      'Someone (perhaps you) tried to create a Fleetdesk account with this address, which already has one.',
      'Nothing was changed. If it was you, sign in with your password. If not, you can ignore this mail.',
    ].join('\n'),
  };
}

export interface LicenceInput {
  number: string;
  country: string;
  expiresOn: string;
}

/** Today's date (UTC) as YYYY-MM-DD; a licence is valid through its expiry day. */
export function todayUtc(now: number = Date.now()): string {
  return new Date(now).toISOString().slice(0, 10);
}

/**
 * The licence status as it stands today: a verified licence past its expiry date reads `expired`. (A reservation's
 * or booking's claim checks the same in its one statement: fleetdesk_claim_checked, 030_claim_one_function.sql.)
 */
export function effectiveLicenceStatus(licence: CustomerRecord['licence'], today: string): LicenceStatus {
  if (licence.status === 'verified' && licence.expiresOn !== null && licence.expiresOn < today) return 'expired';
  return licence.status;
}

/** A real calendar date YYYY-MM-DD (rejects 2025-02-30). */
export function isCalendarDate(value: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return false;
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return date.toISOString().slice(0, 10) === value;
}

export class CustomerAccounts {
  constructor(
    private readonly db: Db,
    private readonly auth: AuthService,
    private readonly log: Logger,
    private readonly mail: MailOutbox,
    private readonly onLicenceQueued: () => void,
    private readonly onLicenceExpired: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * A sign-up answers the same whether or not the address is a customer's (no account enumeration): a new address
   * gets a pending sign-up and a confirmation code by mail (the account exists once it comes back, verifyEmail); a
   * taken one gets a notice to its owner instead, and nothing changes. Both hash the password, so both take as long.
   */
  async signUp(input: SignUpInput): Promise<SignUpAccepted> {
    const email = input.email.trim();
    const name = input.name.trim();
    if (name === '') throw new AppError('validation', 'name must not be blank', { status: 400 });
    const passwordHash = await this.auth.passwords.hash(input.password);
    const token = randomBytes(32).toString('base64url');
    const mail = await this.db.transaction(async (tx) => {
      if (await emailTaken(tx, email)) {
        const notice = signupNoticeMail(email);
        await enqueueMail(tx, notice);
        return notice;
      }
      await upsertSignup(tx, {
        email,
        name,
        phone: input.phone.trim(),
        passwordHash,
        tokenHash: sha256(token),
        ttlMs: SIGNUP_CONFIRM_TTL_MS,
      });
      const confirmation = confirmationMail(email, token);
      await enqueueMail(tx, confirmation);
      return confirmation;
    });
    // delivered by this instance (another's sweep leaves a fresh mail alone), then anything left behind
    this.mail.send(mail);
    void this.mail.deliverPending();
    return SIGN_UP_ACCEPTED;
  }

  /** The mailed code comes back: the account is created and signed in. A wrong, used or expired code: 400, whoever asks. */
  async verifyEmail(email: string, token: string): Promise<Session> {
    const id = randomUUID();
    const created = await this.db.transaction(async (tx) => {
      const signup = await takeSignup(tx, email, sha256(token));
      if (!signup) return false;
      // false when the address became a customer's meanwhile (another confirmation won): the code is spent either way
      return insertCustomer(tx, { id, email: signup.email, name: signup.name, phone: signup.phone, passwordHash: signup.passwordHash });
    });
    if (!created)
      throw new AppError('verification_invalid', 'This confirmation code is wrong, used or expired; sign up again for a new one', {
        status: 400,
      });
    this.log.info('customer signed up', { customerId: id });
    return this.auth.startSession({ kind: 'customer', customerId: id });
  }

  /** Blocked customers can still log in (to see their account); eligibility stops them from creating things. */
  async login(email: string, password: string, ip: string): Promise<Session> {
    const account = await this.auth.passwordLogin('customer', email, password, ip, async (e) => {
      const found = await findCustomerCredentials(this.db, e);
      return found ? { ...found, active: true } : null;
    });
    return this.auth.startSession({ kind: 'customer', customerId: account.id });
  }

  refresh(refreshToken: string): Promise<Session> {
    return this.auth.refreshSession('customer', refreshToken, async (tx, customerId) =>
      (await customerExists(tx, customerId)) ? { kind: 'customer', customerId } : null,
    );
  }

  logout(refreshToken: string): Promise<void> {
    return this.auth.logout('customer', refreshToken);
  }

  /** The customer's own record; 404 when the account is gone. */
  async profile(customerId: string): Promise<CustomerRecord & { licence: CustomerRecord['licence'] & { status: LicenceStatus } }> {
    const customer = await getCustomer(this.db, customerId);
    if (!customer) throw new AppError('customer_not_found', 'No such customer', { status: 404 });
    return { ...customer, licence: { ...customer.licence, status: effectiveLicenceStatus(customer.licence, todayUtc(this.now())) } };
  }

  /**
   * Stores the licence and queues its check (202: the provider answers later). A licence already past its expiry
   * date is `expired` at once, without asking the provider. A new submission supersedes a pending check.
   */
  async submitLicence(customerId: string, input: LicenceInput): Promise<{ status: 'pending' | 'expired' }> {
    const number = input.number.replace(/\s+/g, '').toUpperCase();
    const country = input.country.toUpperCase();
    if (!/^[A-Z0-9-]{4,30}$/.test(number))
      throw new AppError('invalid_licence_number', 'number must be 4–30 letters, digits or dashes', { status: 400 });
    if (!isIsoCountry(country))
      throw new AppError('invalid_country', 'country must be an ISO 3166-1 alpha-2 code (e.g. DE)', { status: 400 });
    if (!isCalendarDate(input.expiresOn)) throw new AppError('invalid_date', 'expiresOn must be a date YYYY-MM-DD', { status: 400 });
    const expired = input.expiresOn < todayUtc(this.now());
    const status = expired ? 'expired' : 'pending';
    await this.db.transaction(async (tx) => {
      const customer = await getCustomer(tx, customerId, true);
      if (!customer) throw new AppError('customer_not_found', 'No such customer', { status: 404 });
      if (customer.status === 'blocked') throw blocked();
      const reason = expired ? 'The licence expiry date has passed' : null;
      await insertCheck(tx, { customerId, number, country, expiresOn: input.expiresOn, status, ...(reason ? { reason } : {}) });
      await setLicence(tx, customerId, { number, country, expiresOn: input.expiresOn, status, reason, checked: expired });
    });
    if (expired) this.onLicenceExpired();
    else this.onLicenceQueued();
    return { status };
  }

  async eligibility(customerId: string): Promise<CustomerEligibility> {
    const customer = await getCustomer(this.db, customerId);
    if (!customer) return { customerId, exists: false, blocked: false, licenceStatus: 'none' };
    return {
      customerId,
      exists: true,
      blocked: customer.status === 'blocked',
      licenceStatus: effectiveLicenceStatus(customer.licence, todayUtc(this.now())),
    };
  }

  /** 403 `customer_blocked` for a blocked customer, 404 for an unknown one (for routes that create something). */
  async assertActive(customerId: string): Promise<void> {
    const e = await this.eligibility(customerId);
    if (!e.exists) throw new AppError('customer_not_found', 'No such customer', { status: 404 });
    if (e.blocked) throw blocked();
  }
}

function blocked(): AppError {
  return new AppError('customer_blocked', 'This account is blocked; contact support', { status: 403 });
}

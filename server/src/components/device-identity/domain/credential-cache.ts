/**
 * Every MQTT account in memory, so a CONNECT costs no database round trip: refreshed from the database on an
 * interval (accounts provisioned by another instance) and updated at once by this instance's own changes.
 *
 * Verified secrets are remembered as SHA-256 digests next to the hash they were verified against: a device
 * reconnecting with the same secret costs one SHA-256 instead of an scrypt. A rotation or a revocation replaces
 * the entry, and with it the remembered digest.
 */
import { timingSafeEqual } from 'node:crypto';
import { errorFields, type Logger } from '../../../platform/log.js';
import type { CredentialsRepository } from '../data/credentials.repository.js';
import type { CredentialRecord } from '../model.js';
import type { MqttPrincipal } from './access-rules.js';
import { secretDigest, verifySecret } from './secrets.js';

interface Entry {
  record: CredentialRecord;
  /** digest of the secret last verified against record.secretHash */
  verified?: Buffer;
}

export type AuthFailure = 'anonymous' | 'unknown_user' | 'disabled' | 'bad_password';
/** A session's account, with the hash it authenticated against (a rotation since then ends the session). */
export interface SessionPrincipal extends MqttPrincipal {
  readonly secretHash: string;
}
export type AuthResult = { ok: true; principal: SessionPrincipal } | { ok: false; reason: AuthFailure };

export class CredentialCache {
  private entries = new Map<string, Entry>();
  /** accounts that exist only in this process (the embedded broker's own service account) */
  private readonly local = new Map<string, Entry>();
  private timer: NodeJS.Timeout | undefined;
  private readonly changeListeners = new Set<(username: string) => void>();
  /** scrypt verifications and cache hits since start (for the measurements in the tests and the report) */
  readonly stats = { scrypt: 0, cached: 0 };

  constructor(
    private readonly repo: CredentialsRepository,
    private readonly log: Logger,
  ) {}

  async start(refreshIntervalMs: number): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => {
      this.refresh().catch((err: unknown) => this.log.warn('mqtt credential refresh failed; keeping the previous set', errorFields(err)));
    }, refreshIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.changeListeners.clear();
  }

  get size(): number {
    return this.entries.size + this.local.size;
  }

  async refresh(): Promise<void> {
    const records = await this.repo.listAll();
    const next = new Map<string, Entry>();
    for (const record of records) {
      const previous = this.entries.get(record.username);
      // keep the verified digest while the hash is the same; a changed hash means a rotation elsewhere
      const same = previous && previous.record.secretHash === record.secretHash && previous.record.disabled === record.disabled;
      next.set(record.username, same ? previous : { record });
      if (previous && !same) this.notify(record.username);
    }
    for (const username of this.entries.keys()) if (!next.has(username)) this.notify(username);
    this.entries = next;
  }

  /** This instance changed an account: apply it now (the database already has it). */
  put(record: CredentialRecord): void {
    const had = this.entries.has(record.username);
    this.entries.set(record.username, { record });
    if (had) this.notify(record.username);
  }

  /**
   * An account kept in memory only (not in the database, never in a password file). Its secret is known here,
   * so it starts verified: the server's own CONNECT never queues behind a burst of device scrypts.
   */
  putLocal(record: CredentialRecord, secret: string): void {
    this.local.set(record.username, { record, verified: secretDigest(secret) });
  }

  has(username: string): boolean {
    return this.entries.has(username) || this.local.has(username);
  }

  /** Called with a username whose secret changed or which was disabled: its open sessions must end. */
  onChange(listener: (username: string) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Is this session's account still the one it authenticated as (not disabled, not rotated since)? */
  isCurrent(principal: SessionPrincipal): boolean {
    const entry = this.entry(principal.username);
    return entry !== undefined && !entry.record.disabled && entry.record.secretHash === principal.secretHash;
  }

  async authenticate(username: string | undefined, password: Buffer | undefined): Promise<AuthResult> {
    if (username === undefined || username === '' || password === undefined) return { ok: false, reason: 'anonymous' };
    const entry = this.entry(username);
    if (!entry) return { ok: false, reason: 'unknown_user' };
    if (entry.record.disabled) return { ok: false, reason: 'disabled' };
    const { record } = entry;
    const principal: SessionPrincipal = { username: record.username, role: record.role, secretHash: record.secretHash };
    const digest = secretDigest(password);
    if (entry.verified && timingSafeEqual(entry.verified, digest)) {
      this.stats.cached++;
      return { ok: true, principal };
    }
    this.stats.scrypt++;
    if (!(await verifySecret(password.toString('utf8'), record.secretHash))) return { ok: false, reason: 'bad_password' };
    // only remember it if the entry was not replaced while scrypt ran
    if (this.entry(username) === entry) entry.verified = digest;
    return { ok: true, principal };
  }

  private entry(username: string): Entry | undefined {
    return this.local.get(username) ?? this.entries.get(username);
  }

  private notify(username: string): void {
    for (const listener of this.changeListeners) {
      try {
        listener(username);
      } catch (err) {
        this.log.warn('mqtt credential change listener failed', errorFields(err));
      }
    }
  }
}

/**
 * Use cases: provision (or rotate) a device's credentials, create desktop and service accounts, revoke. The
 * secret is returned once, to the caller, and exists nowhere else afterwards: the database and the cache keep
 * hashes, and nothing here logs it.
 */
import { randomBytes } from 'node:crypto';
import { AppError } from '../../../../../src/shared/errors.js';
import type { Db } from '../../../platform/db/index.js';
import type { Logger } from '../../../platform/log.js';
import { recordAudit } from '../../audit/index.js';
import { isUnknownVehicle, type CredentialsRepository, type NewCredential } from '../data/credentials.repository.js';
import type { CredentialRecord, DeviceCredentialStatus, MqttRole } from '../model.js';
import { isValidUsername } from './access-rules.js';
import type { CredentialCache } from './credential-cache.js';
import { generateSecret, hashSecret, mosquittoHash } from './secrets.js';

export interface IssuedCredential {
  username: string;
  /** shown once */
  password: string;
  role: MqttRole;
  /** true when the account existed: its previous secret no longer works */
  rotated: boolean;
}

export interface ProvisioningActor {
  id: string;
  role: string;
}

/** Audit target type of credential changes (`mqtt_credentials.issued|rotated|revoked`); never carries a secret. */
export const AUDIT_TARGET = 'mqtt_credentials';

export type AccountRole = Exclude<MqttRole, 'device'>;

const ACCOUNT_NAME = /^[a-z0-9-]{1,40}$/;

export class CredentialProvisioning {
  constructor(
    private readonly db: Db,
    private readonly repo: CredentialsRepository,
    private readonly cache: CredentialCache,
    private readonly log: Logger,
    /** after every committed change (the managed Mosquitto's files follow) */
    private readonly onChanged?: (usernames: readonly string[]) => Promise<unknown>,
  ) {}

  /** Issues a device's credentials (username = vehicle id), rotating them if it had some. */
  async provisionDevice(vehicleId: string, actor: ProvisioningActor): Promise<IssuedCredential> {
    if (!isValidUsername('device', vehicleId))
      throw new AppError('bad_vehicle_id', 'vehicle id must be 1–64 characters of A–Z a–z 0–9 _ -', { status: 400 });
    const [issued] = await this.issue([{ username: vehicleId, role: 'device', vehicleId }], actor);
    return issued!;
  }

  /** Issues devices' credentials in one go (the demo fleet): username → secret. */
  async provisionDevices(vehicleIds: readonly string[], actor: ProvisioningActor): Promise<IssuedCredential[]> {
    return this.issue(
      vehicleIds.map((id) => ({ username: id, role: 'device' as const, vehicleId: id })),
      actor,
    );
  }

  /** A desktop or service account: `desktop.<name>` (random name unless given; an existing name rotates). */
  async createAccount(role: AccountRole, name: string | undefined, actor: ProvisioningActor): Promise<IssuedCredential> {
    if (name !== undefined && !ACCOUNT_NAME.test(name))
      throw new AppError('bad_account_name', 'name must be 1–40 characters of a–z 0–9 -', { status: 400 });
    const username = `${role}.${name ?? randomBytes(6).toString('hex')}`;
    const existing = await this.repo.find(username);
    if (existing && existing.role !== role) throw new AppError('account_conflict', `${username} exists with another role`, { status: 409 });
    const [issued] = await this.issue([{ username, role, vehicleId: null }], actor);
    return issued!;
  }

  /** Every device's credential state (issued, rotated, revoked), never a secret. */
  listDevices(): Promise<DeviceCredentialStatus[]> {
    return this.repo.listDevices();
  }

  /** Disables an account now; its open sessions on the embedded broker end. */
  async revoke(username: string, actor: ProvisioningActor, expectedRole?: MqttRole, reason: string | null = null): Promise<void> {
    const existing = await this.repo.find(username);
    if (!existing || existing.disabled || (expectedRole !== undefined && existing.role !== expectedRole)) {
      throw new AppError('credentials_not_found', `no active MQTT credentials for ${username}`, { status: 404 });
    }
    await this.db.transaction(async (tx) => {
      if (!(await this.repo.disable(username, tx)))
        throw new AppError('credentials_not_found', `no active MQTT credentials for ${username}`, { status: 404 });
      await recordAudit(tx, {
        actor: actor.id,
        role: actor.role,
        action: `${AUDIT_TARGET}.revoked`,
        targetType: AUDIT_TARGET,
        targetId: username,
        reason,
        before: { role: existing.role, vehicleId: existing.vehicleId },
      });
    });
    this.cache.put({ ...existing, disabled: true });
    this.log.info('mqtt credentials revoked', { username, role: existing.role, actor: actor.id });
    await this.onChanged?.([username]);
  }

  /** A service account that lives in this process only (the server's own client on the embedded broker). */
  async createLocalServiceAccount(): Promise<{ username: string; password: string }> {
    const username = `service.embedded-${randomBytes(6).toString('hex')}`;
    const password = generateSecret();
    const record: CredentialRecord = {
      username,
      role: 'service',
      vehicleId: null,
      secretHash: await hashSecret(password),
      brokerHash: '',
      disabled: false,
    };
    this.cache.putLocal(record, password);
    return { username, password };
  }

  private async issue(
    accounts: Array<Omit<NewCredential, 'secretHash' | 'brokerHash'>>,
    actor: ProvisioningActor,
  ): Promise<IssuedCredential[]> {
    if (accounts.length === 0) return [];
    const secrets = await Promise.all(
      accounts.map(async (a) => {
        const password = generateSecret();
        const [secretHash, brokerHash] = await Promise.all([hashSecret(password), mosquittoHash(password)]);
        return { account: { ...a, secretHash, brokerHash }, password };
      }),
    );
    let outcome: Map<string, { rotated: boolean }>;
    try {
      outcome = await this.db.transaction(async (tx) => {
        const result = await this.repo.upsert(
          secrets.map((s) => s.account),
          tx,
        );
        // one entry per account; a batch (the demo fleet) gets one summary entry
        const entries = secrets.length === 1 ? secrets.map((s) => s.account) : [];
        for (const a of entries) {
          await recordAudit(tx, {
            actor: actor.id,
            role: actor.role,
            action: `${AUDIT_TARGET}.${result.get(a.username)?.rotated ? 'rotated' : 'issued'}`,
            targetType: AUDIT_TARGET,
            targetId: a.username,
            after: { role: a.role, vehicleId: a.vehicleId },
          });
        }
        if (secrets.length > 1) {
          await recordAudit(tx, {
            actor: actor.id,
            role: actor.role,
            action: `${AUDIT_TARGET}.issued`,
            targetType: AUDIT_TARGET,
            targetId: `batch:${secrets.length}`,
            after: { accounts: secrets.map((s) => s.account.username) },
          });
        }
        return result;
      });
    } catch (err) {
      if (isUnknownVehicle(err)) {
        throw new AppError('vehicle_not_found', 'no such vehicle in the registry', { status: 404, cause: err });
      }
      throw err;
    }
    const issued: IssuedCredential[] = [];
    for (const { account, password } of secrets) {
      const rotated = outcome.get(account.username)?.rotated ?? false;
      this.cache.put({ ...account, disabled: false });
      issued.push({ username: account.username, password, role: account.role, rotated });
    }
    const rotatedCount = issued.filter((i) => i.rotated).length;
    if (issued.length === 1)
      this.log.info(rotatedCount ? 'mqtt credentials rotated' : 'mqtt credentials issued', {
        username: issued[0]!.username,
        role: issued[0]!.role,
        actor: actor.id,
      });
    else this.log.info('mqtt credentials issued', { accounts: issued.length, rotated: rotatedCount, actor: actor.id });
    await this.onChanged?.(issued.map((i) => i.username));
    return issued;
  }
}

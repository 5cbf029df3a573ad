/**
 * MQTT secrets: generated here (32 random bytes, base64url), shown once, stored only as hashes.
 *
 * Work factor: a KDF's cost protects low-entropy, human-chosen passwords. These secrets carry 256 bits of
 * entropy, so no offline search can succeed whatever the cost; the cost only decides how many CONNECTs per
 * second the server can verify when 20,000 devices reconnect at once. Hence scrypt with a small N (parameters
 * in the hash string, so they can be raised later without invalidating stored hashes), plus a cache of
 * verified secrets (credential-cache.ts) that makes a reconnect after a network blip cost one SHA-256.
 */
import { createHash, pbkdf2, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export const SECRET_BYTES = 32;

/** scrypt N = 2^ln, r, p. ln=10, r=8: 1 MiB of memory, ~2–3 ms per verification on one core. */
export interface ScryptParams {
  /** N = 2^ln */
  ln: number;
  r: number;
  p: number;
}
export const DEFAULT_SCRYPT: Readonly<ScryptParams> = Object.freeze({ ln: 10, r: 8, p: 1 });
const KEY_BYTES = 32;
const SALT_BYTES = 16;

/** Mosquitto 2's default password hash: PBKDF2-SHA512, 101 iterations, 12-byte salt, 64-byte key (`$7$`). */
const MOSQUITTO_ITERATIONS = 101;
const MOSQUITTO_SALT_BYTES = 12;

export function generateSecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64url');
}

/** `$scrypt$ln=10,r=8,p=1$<salt b64url>$<key b64url>` (PHC-style). */
export async function hashSecret(secret: string, params: Readonly<ScryptParams> = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scryptAsync(secret, salt, KEY_BYTES, params);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Constant-time check of `secret` against a stored hash; false (never a throw) for a malformed hash. */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parsed = parseScryptHash(stored);
  if (!parsed) return false;
  const key = await scryptAsync(secret, parsed.salt, parsed.key.length, parsed.params);
  return timingSafeEqual(key, parsed.key);
}

/** SHA-256 of a secret: what the verified-secret cache keeps (a 256-bit secret's digest reveals nothing usable). */
export function secretDigest(secret: string | Buffer): Buffer {
  return createHash('sha256').update(secret).digest();
}

/** The secret as a Mosquitto 2 password-file hash: `$7$101$<salt b64>$<key b64>` (what mosquitto_passwd writes). */
export async function mosquittoHash(secret: string, iterations = MOSQUITTO_ITERATIONS): Promise<string> {
  const salt = randomBytes(MOSQUITTO_SALT_BYTES);
  const key = await new Promise<Buffer>((resolve, reject) =>
    pbkdf2(secret, salt, iterations, 64, 'sha512', (err, derived) => (err ? reject(err) : resolve(derived))),
  );
  return `$7$${iterations}$${salt.toString('base64')}$${key.toString('base64')}`;
}

interface ParsedScrypt {
  params: ScryptParams;
  salt: Buffer;
  key: Buffer;
}

const SCRYPT_HASH = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

function parseScryptHash(stored: string): ParsedScrypt | null {
  const m = SCRYPT_HASH.exec(stored);
  if (!m) return null;
  const params = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  // bounds keep a corrupt row from asking for gigabytes of memory
  if (params.ln < 1 || params.ln > 20 || params.r < 1 || params.r > 32 || params.p < 1 || params.p > 16) return null;
  const key = Buffer.from(m[5]!, 'base64url');
  if (key.length < 16) return null;
  return { params, salt: Buffer.from(m[4]!, 'base64url'), key };
}

function scryptAsync(secret: string, salt: Buffer, length: number, params: Readonly<ScryptParams>): Promise<Buffer> {
  const N = 2 ** params.ln;
  const options: ScryptOptions = { N, r: params.r, p: params.p, maxmem: 256 * N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => scrypt(secret, salt, length, options, (err, key) => (err ? reject(err) : resolve(key))));
}

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { pbkdf2Sync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateSecret, hashSecret, mosquittoHash, verifySecret } from './secrets.js';

const MOSQUITTO_PASSWD = '/usr/bin/mosquitto_passwd';

/** Checks a `$7$` hash the way Mosquitto does. */
function mosquittoVerifies(hash: string, secret: string): boolean {
  const [, seven, iterations, salt, key] = hash.split('$');
  if (seven !== '7') return false;
  return pbkdf2Sync(secret, Buffer.from(salt!, 'base64'), Number(iterations), 64, 'sha512').toString('base64') === key;
}

describe('secrets', () => {
  it('are 32 random bytes, base64url', () => {
    const a = generateSecret();
    expect(Buffer.from(a, 'base64url')).toHaveLength(32);
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(generateSecret()).not.toBe(a);
  });

  it('hash with scrypt, a per-secret salt and the parameters in the string; verify in constant time', async () => {
    const secret = generateSecret();
    const h1 = await hashSecret(secret);
    const h2 = await hashSecret(secret);
    expect(h1).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    expect(h1).not.toBe(h2);
    expect(h1).not.toContain(secret);
    expect(await verifySecret(secret, h1)).toBe(true);
    expect(await verifySecret(`${secret}x`, h1)).toBe(false);
    // other parameters in the string are honoured
    const strong = await hashSecret(secret, { ln: 12, r: 8, p: 1 });
    expect(strong).toContain('ln=12');
    expect(await verifySecret(secret, strong)).toBe(true);
  });

  it('a malformed or absurd stored hash verifies nothing and never throws', async () => {
    for (const bad of ['', 'plain', '$scrypt$ln=40,r=8,p=1$AAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', '$scrypt$ln=10,r=8,p=1$AAAA$AA']) {
      expect(await verifySecret('x', bad)).toBe(false);
    }
  });

  it('Mosquitto hashes are PBKDF2-SHA512 in the $7$ format mosquitto_passwd writes', async () => {
    const secret = generateSecret();
    const hash = await mosquittoHash(secret);
    expect(hash).toMatch(/^\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/);
    expect(mosquittoVerifies(hash, secret)).toBe(true);
    expect(mosquittoVerifies(hash, 'wrong')).toBe(false);
  });

  it.skipIf(!existsSync(MOSQUITTO_PASSWD))('the format equals what this machine’s mosquitto_passwd writes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetdesk-passwd-'));
    try {
      const file = join(dir, 'passwd');
      execFileSync(MOSQUITTO_PASSWD, ['-c', '-b', file, 'veh-1', 'hunter2'], { stdio: 'ignore' });
      const [user, hash] = readFileSync(file, 'utf8').trim().split(/:(.*)/s);
      expect(user).toBe('veh-1');
      expect(hash).toMatch(/^\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/);
      expect(mosquittoVerifies(hash!, 'hunter2')).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

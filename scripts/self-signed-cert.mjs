// A self-signed TLS certificate for 127.0.0.1 / localhost, made with the openssl binary: the demo broker's
// (scripts/start.mjs) and the TLS tests' (test/integration/mqtt-tls.test.ts). Demo and tests only.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Writes `<dir>/<name>.crt` and `<dir>/<name>.key` (0600); returns their paths, or undefined when openssl failed.
 * @param {string} dir
 * @param {string} name
 * @param {number} days
 * @returns {{ cert: string, key: string } | undefined}
 */
export function makeSelfSignedCert(dir, name, days) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const made = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      String(days),
      '-subj',
      `/CN=${name}`,
    ].concat(['-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert]),
    { stdio: 'ignore' },
  );
  if (made.status !== 0) return undefined;
  chmodSync(key, 0o600);
  return { cert, key };
}

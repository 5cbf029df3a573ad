/**
 * `npm run mqtt:mosquitto-config [-- --out DIR]`: writes Mosquitto's password and ACL files from the
 * credentials in the database (DATABASE_URL, else the PGlite under DATA_DIR — stop a server using that PGlite
 * first: it is single-process). Default DIR: `$DATA_DIR/mosquitto`. Then reload Mosquitto (SIGHUP); see
 * docs/mosquitto-auth.md.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, IN_MEMORY_DATA_DIR, loadConfig } from '../../platform/config.js';
import { openDatabase } from '../../platform/db/index.js';
import { createLogger } from '../../platform/log.js';
import { CredentialsRepository } from './data/credentials.repository.js';
import { writeMosquittoFiles } from './mosquitto.js';

async function main(): Promise<number> {
  let out: string | undefined;
  try {
    ({
      values: { out },
    } = parseArgs({ args: process.argv.slice(2), options: { out: { type: 'string' } }, strict: true }));
  } catch (err) {
    console.error(`mqtt:mosquitto-config: ${(err as Error).message} (usage: --out DIR)`);
    return 2;
  }
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
  if (!config.databaseUrl && config.dataDir === IN_MEMORY_DATA_DIR) {
    console.error('mqtt:mosquitto-config: DATA_DIR=memory:// holds no credentials; set DATABASE_URL or DATA_DIR');
    return 1;
  }
  const dir = resolve(out ?? resolve(config.dataDir, 'mosquitto'));
  const log = createLogger({ level: 'warn' });
  const db = await openDatabase(config, log);
  try {
    const records = await new CredentialsRepository(db).listAll();
    const files = await writeMosquittoFiles(dir, records);
    const enabled = records.filter((r) => !r.disabled).length;
    console.log(`wrote ${files.passwordFile} (${enabled} accounts) and ${files.aclFile}; reload Mosquitto: kill -HUP <pid>`);
    return 0;
  } finally {
    await db.close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`mqtt:mosquitto-config failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);

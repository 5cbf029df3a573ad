/**
 * Where the server manages an external Mosquitto's files (MOSQUITTO_CONFIG_DIR): after every credential change
 * it rewrites the password and ACL files from the database and, with MOSQUITTO_PID_FILE, sends Mosquitto SIGHUP so
 * it re-reads them without a restart (new and rotated accounts can connect, revoked ones can no longer). Runs one
 * at a time; a change during a run gets one more run after it. A failure is logged and reported, never thrown
 * into the request that changed the credentials (the database is the truth; `npm run mqtt:mosquitto-config`
 * regenerates the files by hand).
 */
import { readFile } from 'node:fs/promises';
import { errorFields, type Logger } from '../../platform/log.js';
import type { CredentialRecord } from './model.js';
import { writeMosquittoFiles } from './mosquitto.js';

export interface MosquittoReloadOptions {
  dir: string;
  pidFile?: string;
  records: () => Promise<CredentialRecord[]>;
  log: Logger;
}

export interface MosquittoReload {
  /** Rewrites the files (and signals Mosquitto); resolves when a run that started after this call is done. */
  apply(): Promise<{ ok: boolean; reloaded: boolean }>;
}

export function createMosquittoReload(o: MosquittoReloadOptions): MosquittoReload {
  let running: Promise<{ ok: boolean; reloaded: boolean }> | undefined;
  let queued: Promise<{ ok: boolean; reloaded: boolean }> | undefined;

  const run = async (): Promise<{ ok: boolean; reloaded: boolean }> => {
    try {
      const records = await o.records();
      await writeMosquittoFiles(o.dir, records);
      if (!o.pidFile) {
        o.log.info('mosquitto files rewritten; reload Mosquitto (SIGHUP) to apply them', { dir: o.dir });
        return { ok: true, reloaded: false };
      }
      const pid = Number((await readFile(o.pidFile, 'utf8')).trim());
      if (!Number.isInteger(pid) || pid <= 1) throw new Error(`no pid in ${o.pidFile}`);
      process.kill(pid, 'SIGHUP');
      o.log.info('mosquitto files rewritten and Mosquitto reloaded', { dir: o.dir, pid });
      return { ok: true, reloaded: true };
    } catch (err) {
      o.log.error('rewriting the Mosquitto files or reloading Mosquitto failed; run `npm run mqtt:mosquitto-config` and reload it', {
        dir: o.dir,
        ...errorFields(err),
      });
      return { ok: false, reloaded: false };
    }
  };

  return {
    apply() {
      if (!running) {
        running = run().finally(() => (running = undefined));
        return running;
      }
      queued ??= running.then(() => {
        queued = undefined;
        return this.apply();
      });
      return queued;
    },
  };
}

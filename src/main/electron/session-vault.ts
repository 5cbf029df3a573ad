/**
 * Keeps the staff session (refresh token + who it belongs to) across restarts, encrypted with the OS keychain
 * through Electron's safeStorage, so the desktop opens signed in — also with the server down (offline mode).
 * No vault (the session lasts until quit) when the OS offers no encryption: a refresh token is never written
 * in clear text. Never holds a password.
 */
import { safeStorage } from 'electron';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import type { SessionVault, StoredSession } from '../services/staff-session.js';

export function createSafeStorageVault(file: string): SessionVault | undefined {
  if (!safeStorage.isEncryptionAvailable()) return undefined;
  return {
    async load() {
      let data: Buffer;
      try {
        data = await readFile(file);
      } catch {
        return undefined;
      }
      return JSON.parse(safeStorage.decryptString(data)) as StoredSession;
    },
    async save(session) {
      if (!session) {
        await rm(file, { force: true });
        return;
      }
      // 0600 whatever the umask: writeFile's mode applies only to a new file, so an older, looser one is tightened too
      await writeFile(file, safeStorage.encryptString(JSON.stringify(session)), { mode: 0o600 });
      await chmod(file, 0o600);
    },
  };
}

/**
 * Files and directories only the server's own user may read: the database directory, damage photos, the sandbox
 * ledger, credentials files. Created 0700 / 0600 whatever the umask, and tightened when they already exist with
 * looser modes (a file's mode given at creation does not apply to a file that is already there; `mkdir -p`'s does not
 * apply to a directory that is already there).
 */
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** mkdir -p, then 0700 on the directory itself (its parents keep theirs, except those `mkdir` created: 0700 too). */
export async function ensurePrivateDir(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  await chmod(dir, PRIVATE_DIR_MODE);
  return dir;
}

/** Write-then-rename, 0600: a crash mid-write never leaves half a file, and nobody else ever reads it. */
export async function writePrivateFile(path: string, content: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, content, { mode: PRIVATE_FILE_MODE });
  await chmod(tmp, PRIVATE_FILE_MODE);
  await rename(tmp, path);
}

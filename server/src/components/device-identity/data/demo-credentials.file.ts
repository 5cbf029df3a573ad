/**
 * `$DATA_DIR/demo-credentials.json`: the demo fleet's and the demo desktop's MQTT secrets, so `npm start` can
 * hand them to the simulator and the desktop. Demo only — a real device gets its secret once, at provisioning,
 * and the server keeps no copy. Written with mode 0600, replaced atomically.
 */
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ensurePrivateDir, writePrivateFile } from '../../../platform/private-files.js';

export const DEMO_CREDENTIALS_FILE = 'demo-credentials.json';

export interface DemoCredentials {
  /** vehicle id (= MQTT username and client id) → secret */
  devices: Record<string, string>;
  desktop: { username: string; password: string };
}

/** The file's content, or undefined when it is missing or not in the expected shape (then it is rewritten). */
export async function readDemoCredentials(path: string): Promise<DemoCredentials | undefined> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const parsed = JSON.parse(raw) as Partial<DemoCredentials>;
    const devices = parsed.devices;
    const desktop = parsed.desktop;
    if (!devices || typeof devices !== 'object' || !desktop || typeof desktop.username !== 'string' || typeof desktop.password !== 'string')
      return undefined;
    if (!Object.values(devices).every((v) => typeof v === 'string')) return undefined;
    return { devices, desktop };
  } catch {
    return undefined;
  }
}

export async function writeDemoCredentials(path: string, credentials: DemoCredentials): Promise<void> {
  const body = {
    note: 'Demo only: MQTT secrets of the seeded demo fleet and the demo desktop account (npm start). Never use in production.',
    ...credentials,
  };
  await ensurePrivateDir(dirname(path));
  await writePrivateFile(path, `${JSON.stringify(body, null, 2)}\n`);
}

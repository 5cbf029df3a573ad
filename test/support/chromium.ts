import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Flags for headless Chromium in tests and benches: no GPU, no sandbox (root in CI), no calls home. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Where a system Chromium usually is (Debian/Ubuntu packages, Fedora, Chrome). */
const SYSTEM_CHROMIUMS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];

let resolved: Promise<string> | undefined;

/**
 * The Chromium the tests drive, in this order: `CHROMIUM_PATH` (must exist: a set path that is wrong is an
 * error, not a silent fallback); a system Chromium; else, on x64 Linux, the headless Chromium shipped inside the
 * `@sparticuz/chromium` npm package (a devDependency, unpacked under the OS temp dir on first use), so that
 * `npm ci && npm test` is all a fresh Linux machine needs. No browser is ever downloaded.
 */
export function chromiumExecutablePath(): Promise<string> {
  resolved ??= resolveChromium();
  return resolved;
}

async function resolveChromium(): Promise<string> {
  const configured = process.env['CHROMIUM_PATH'];
  if (configured) {
    if (!existsSync(configured))
      throw new Error(`CHROMIUM_PATH=${configured} does not exist: install Chromium there or unset CHROMIUM_PATH`);
    return configured;
  }
  const system = SYSTEM_CHROMIUMS.find((p) => existsSync(p));
  if (system) return system;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`no Chromium found (looked at ${SYSTEM_CHROMIUMS.join(', ')}): install Chromium or set CHROMIUM_PATH`);
  }
  const { default: packaged } = await import('@sparticuz/chromium');
  return packaged.executablePath();
}

/** Chromium driven headless by playwright-core (no browser download). */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: await chromiumExecutablePath(), headless: true, args: CHROMIUM_ARGS });
}

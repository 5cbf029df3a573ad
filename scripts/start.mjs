#!/usr/bin/env node
// `npm start`: the whole product on embedded defaults — builds the desktop, starts the companion server
// (embedded PGlite + Aedes), the device simulator and the desktop app. When the Electron binary is missing and
// cannot be downloaded, says so in one line and opens the browser console instead. Ctrl-C stops everything.
//
// Environment: the server's and the desktop's own variables (README, "Configuration") pass through;
// SIM_VEHICLES (default 200) sizes the simulated fleet (and, unless SEED_VEHICLES is set, the seeded registry); FLEETDESK_NO_BUILD=1 skips the build.
// SIM_CUSTOMERS (default: 3 per 10 cars) simulated customers rent the cars through the customer API, so a car moves
// only while rented — except SIM_UNRENTED_MOVEMENT (default 0.02) of the fleet, which drives unrented for the
// alerts; SIM_CUSTOMERS=0 brings back the old demo where every car drives on its own.
//
// MQTT access control (MQTT_AUTH=required, the default): the server issues the demo fleet and a demo desktop
// their own credentials in $DATA_DIR/demo-credentials.json (demo only); this script hands them to the simulator
// (--credentials) and to the desktop (FLEETDESK_MQTT_USERNAME / FLEETDESK_MQTT_PASSWORD, unless already set).
// The simulated customers read their sign-up confirmation codes from the server's sandbox mailbox
// ($DATA_DIR/sandbox-mailbox, --mailbox).
//
// Device transport over TLS: unless MQTT_URL or MQTT_TLS_CERT_FILE is set, or MQTT_TLS=off, a self-signed
// certificate for 127.0.0.1 is made once with openssl in $DATA_DIR/tls/ (demo only: production brings its own),
// the embedded broker speaks mqtts:// with it, and the simulator (--mqtt-ca) and the desktop
// (FLEETDESK_MQTT_CA_FILE) trust exactly that certificate — a broker with any other is refused.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { makeSelfSignedCert } from './self-signed-cert.mjs';

const root = new URL('..', import.meta.url).pathname;
const bin = (name) => join(root, 'node_modules', '.bin', name);
const env = { ...process.env };
// an address set to nothing (`MQTT_URL= npm start`) means "not set": the demo default, as the server reads it
// (FLEETDESK_STAFF_EMAIL= keeps its own meaning below: no automatic sign-in)
for (const k of ['PORT', 'MQTT_PORT', 'MQTT_URL', 'DATABASE_URL', 'FLEETDESK_SERVER_URL', 'FLEETDESK_MQTT_URL', 'DATA_DIR'])
  if (env[k] === '') delete env[k];
const serverPort = env.PORT ?? '4310';
const brokerPort = env.MQTT_PORT ?? '18830';
const serverUrl = env.FLEETDESK_SERVER_URL ?? `http://127.0.0.1:${serverPort}`;
const dataDir = env.DATA_DIR ?? 'var/server';
const dataDirPath = isAbsolute(dataDir) ? dataDir : join(root, dataDir);
const tls = demoTls();
const mqttUrl = env.MQTT_URL ?? `${tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${brokerPort}`;
const simVehicles = env.SIM_VEHICLES ?? '200';
const simCustomers = env.SIM_CUSTOMERS ?? String(Math.round(Number(simVehicles) * 0.3));
const simUnrented = env.SIM_UNRENTED_MOVEMENT ?? '0.02';
// The registry holds the simulated fleet (more only if asked), so the desk shows no never-seen cars as offline.
env.SEED_VEHICLES ??= simVehicles;

/** The demo's self-signed broker certificate ($DATA_DIR/tls/), made once; undefined when not wanted or no openssl. */
function demoTls() {
  if (env.MQTT_URL || env.MQTT_TLS_CERT_FILE || env.MQTT_TLS === 'off') return undefined;
  const dir = join(dataDirPath, 'tls');
  let pair = { cert: join(dir, 'demo-broker.crt'), key: join(dir, 'demo-broker.key') };
  if (!existsSync(pair.cert) || !existsSync(pair.key)) {
    pair = makeSelfSignedCert(dir, 'demo-broker', 825);
    if (!pair) {
      console.warn('[start] openssl not available: the demo broker speaks plain MQTT (set MQTT_TLS_CERT_FILE/MQTT_TLS_KEY_FILE for TLS)');
      return undefined;
    }
  }
  const { cert, key } = pair;
  env.MQTT_TLS_CERT_FILE = cert;
  env.MQTT_TLS_KEY_FILE = key;
  return { cert };
}

const children = [];
let stopping = false;

function start(name, cmd, args, extraEnv = {}) {
  // Own process group: Ctrl-C reaches only this script, which then stops the children one by one in reverse
  // order (desktop, simulator, server) so the simulator can still say goodbye to the broker and the server flushes.
  const child = spawn(cmd, args, { cwd: root, env: { ...env, ...extraEnv }, stdio: ['ignore', 'inherit', 'inherit'], detached: true });
  children.push({ name, child });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`[start] ${name} exited (${signal ?? code}); stopping everything`);
      void stopAll(1);
    }
  });
  return child;
}

async function stopAll(exitCode = 0) {
  if (stopping) return;
  stopping = true;
  // reverse order: desktop, simulator, server (so the server flushes last)
  for (const { name, child } of [...children].reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    child.kill('SIGINT');
    const exited = await new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), 10_000);
      child.once('exit', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    if (!exited) {
      console.error(`[start] ${name} did not stop in 10 s; killing it`);
      child.kill('SIGKILL');
    }
  }
  process.exit(exitCode);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

async function waitReady(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`server at ${url} not ready after ${timeoutMs / 1000} s`);
}

/** The Electron binary's path, or null when it is not installed and cannot be downloaded. */
function electronBinary() {
  const probe = "const p=require('electron');process.stdout.write('\\nELECTRON_PATH='+p)";
  const r = spawnSync(process.execPath, ['-e', probe], { cwd: root, encoding: 'utf8', timeout: 90_000 });
  const match = /ELECTRON_PATH=(.+)$/.exec(r.stdout ?? '');
  return r.status === 0 && match && existsSync(match[1]) ? match[1] : null;
}

if (env.FLEETDESK_NO_BUILD !== '1') {
  console.log('[start] building the desktop app (electron-vite build)…');
  const b = spawnSync(bin('electron-vite'), ['build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (b.status !== 0) {
    console.error('[start] build failed');
    process.exit(1);
  }
}

start('server', bin('tsx'), ['server/src/start.ts']);
try {
  await waitReady(serverUrl, 60_000);
} catch (err) {
  console.error(`[start] ${err.message}`);
  await stopAll(1);
}
console.log(`[start] server ready at ${serverUrl} (broker ${mqttUrl})`);

const credentialsFile = join(dataDirPath, 'demo-credentials.json');
const demoCredentials =
  existsSync(credentialsFile) && env.MQTT_AUTH !== 'off' ? JSON.parse(readFileSync(credentialsFile, 'utf8')) : undefined;

start('simulator', bin('tsx'), [
  'sim/index.ts',
  '--vehicles',
  simVehicles,
  '--mqtt',
  mqttUrl,
  ...(tls ? ['--mqtt-ca', tls.cert] : []),
  ...(demoCredentials ? ['--credentials', credentialsFile] : []),
  ...(simCustomers !== '0'
    ? [
        '--customers',
        simCustomers,
        '--unrented-movement',
        simUnrented,
        '--api',
        serverUrl,
        '--mailbox',
        join(dataDirPath, 'sandbox-mailbox'),
      ]
    : []),
]);

const desktopEnv = { FLEETDESK_SERVER_URL: serverUrl, FLEETDESK_MQTT_URL: env.FLEETDESK_MQTT_URL ?? mqttUrl };
if (tls && env.FLEETDESK_MQTT_CA_FILE === undefined) desktopEnv.FLEETDESK_MQTT_CA_FILE = tls.cert;
// Demo: the desktop signs in by itself as the seeded demo dispatcher (README, "Demo accounts"), unless told
// otherwise; set FLEETDESK_STAFF_EMAIL= (empty) to get the sign-in screen instead.
if (env.FLEETDESK_STAFF_EMAIL === undefined && env.SEED_DEMO_STAFF !== 'false') {
  desktopEnv.FLEETDESK_STAFF_EMAIL = 'dispatcher@fleetdesk.local';
  desktopEnv.FLEETDESK_STAFF_PASSWORD = 'demo-dispatcher-pass';
}
if (demoCredentials?.desktop && env.FLEETDESK_MQTT_USERNAME === undefined) {
  desktopEnv.FLEETDESK_MQTT_USERNAME = demoCredentials.desktop.username;
  desktopEnv.FLEETDESK_MQTT_PASSWORD = demoCredentials.desktop.password;
}
const electron = electronBinary();
if (electron) {
  console.log('[start] opening the Fleetdesk desktop app');
  start('desktop', electron, ['.'], desktopEnv);
} else {
  console.log('[start] Electron binary not installed and cannot be downloaded here; opening the browser console instead');
  start('console', bin('tsx'), ['src/main/browser-host/start.ts'], desktopEnv);
}

#!/usr/bin/env node
// `npm test`: typecheck, lint, format check (Prettier), build the renderer, then unit → integration → end-to-end tests (vitest projects),
// each project in its own run so the 2-core machine is not oversubscribed. Prints one closing line
// "tests: N passed, N failed, N skipped" summed over all projects, and exits non-zero on any failure.
//
// The suite runs against the real engines as well as the embedded ones: PostgreSQL (DATABASE_URL), an MQTT broker
// (MQTT_URL), the Mosquitto binary (tests start their own brokers) and Chromium. When DATABASE_URL / MQTT_URL are
// unset and the local services answer on their usual ports, those are used (and said); when an engine is missing
// the run stops at once, naming it, instead of silently dropping the hundreds of tests that need it. After the
// run, a test that skipped and is not listed in test/known-skips.json fails the run.
//
// Flags: --only unit,integration,e2e   run only these test projects (static checks still run unless --no-checks)
//        --no-checks                   skip typecheck, lint and build
//        --embedded-only               run without PostgreSQL, an external broker and Mosquitto (PGlite and Aedes
//                                      only); the tests that need them skip, and their number is printed
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const onlyIdx = args.indexOf('--only');
const projects = onlyIdx >= 0 ? args[onlyIdx + 1].split(',') : ['unit', 'integration', 'e2e'];
const checks = !args.includes('--no-checks');
const embeddedOnly = args.includes('--embedded-only');
const resultsDir = join(root, 'test-results');
mkdirSync(resultsDir, { recursive: true });

function run(label, cmd, cmdArgs) {
  const started = Date.now();
  console.log(`\n▶ ${label}: ${cmd} ${cmdArgs.join(' ')}`);
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit', env: process.env });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  const ok = r.status === 0;
  console.log(`${ok ? '✔' : '✘'} ${label} (${secs} s)`);
  return ok;
}

/** True when something accepts a TCP connection on 127.0.0.1:port within a second. */
function answers(port) {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Fills DATABASE_URL / MQTT_URL from the local services when unset; returns what is missing (empty: all there). */
async function resolveEngines(env) {
  const missing = [];
  const local = [
    ['DATABASE_URL', 5432, 'postgres://postgres@127.0.0.1:5432/postgres', 'PostgreSQL'],
    ['MQTT_URL', 1883, 'mqtt://127.0.0.1:1883', 'an MQTT broker'],
  ];
  for (const [name, port, url, what] of local) {
    if (env[name]) continue;
    if (await answers(port)) {
      env[name] = url;
      console.log(`${name} is not set: using ${what} at ${url}`);
    } else missing.push(`${what} (set ${name}; nothing answers on 127.0.0.1:${port})`);
  }
  const mosquitto = '/usr/sbin/mosquitto';
  if (!existsSync(mosquitto)) missing.push(`the Mosquitto binary (${mosquitto}; e.g. apt-get install mosquitto)`);
  const chromium = env.CHROMIUM_PATH;
  if (chromium && !existsSync(chromium)) missing.push(`Chromium at CHROMIUM_PATH=${chromium}`);
  return missing;
}

if (!embeddedOnly) {
  const missing = await resolveEngines(process.env);
  if (missing.length) {
    console.error(`npm test needs the real engines as well as the embedded ones; missing: ${missing.join('; ')}.`);
    console.error('Start them (see README, Requirements), or run `npm test -- --embedded-only` to run without them.');
    process.exit(1);
  }
}

const knownSkips = JSON.parse(readFileSync(join(root, 'test', 'known-skips.json'), 'utf8')).skips;
const isKnownSkip = (file, name) => knownSkips.some((k) => k.file === file && k.name === name);
const unexpectedSkips = [];

const npx = 'npx';
let failedSteps = [];
if (checks) {
  const steps = [
    ['typecheck (node)', npx, ['tsc', '-p', 'tsconfig.node.json']],
    ['typecheck (web)', npx, ['tsc', '-p', 'tsconfig.web.json']],
    ['typecheck (server)', npx, ['tsc', '-p', 'tsconfig.server.json']],
    ['typecheck (e2e)', npx, ['tsc', '-p', 'tsconfig.e2e.json']],
    ['typecheck (desk replica tests)', npx, ['tsc', '-p', 'tsconfig.desk-tests.json']],
    ['lint', npx, ['eslint', '.', '--max-warnings', '0']],
    ['format', npx, ['prettier', '--check', '.']],
    ['build (electron-vite)', npx, ['electron-vite', 'build']],
  ];
  for (const [label, cmd, a] of steps) if (!run(label, cmd, a)) failedSteps.push(label);
}

const totals = { passed: 0, failed: 0, skipped: 0 };
for (const project of projects) {
  const out = join(resultsDir, `vitest-${project}.json`);
  rmSync(out, { force: true });
  const ok = run(`tests (${project})`, npx, [
    'vitest',
    'run',
    '--project',
    project,
    // test files are independent (fresh databases, brokers and servers on free ports): two at a time on two cores —
    // vitest would run one, and much of a file's time is waiting (servers starting, outages); the e2e project keeps
    // one file at a time (vitest.config.ts: fileParallelism)
    ...(project === 'e2e' ? [] : ['--maxWorkers=2']),
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${out}`,
  ]);
  try {
    const report = JSON.parse(readFileSync(out, 'utf8'));
    totals.passed += report.numPassedTests;
    totals.failed += report.numFailedTests;
    totals.skipped += report.numPendingTests + (report.numTodoTests ?? 0);
    if (report.numTotalTests === 0) failedSteps.push(`tests (${project}): no test ran`);
    for (const file of report.testResults) {
      const path = relative(root, file.name);
      for (const t of file.assertionResults) {
        if ((t.status === 'skipped' || t.status === 'pending' || t.status === 'todo') && !isKnownSkip(path, t.fullName))
          unexpectedSkips.push(`${path} › ${t.fullName}`);
      }
    }
    // a suite that failed to load counts as a failure even when no test inside it ran
    if (!ok && report.numFailedTests === 0) failedSteps.push(`tests (${project})`);
  } catch {
    failedSteps.push(`tests (${project}): no report`);
  }
}

console.log('');
if (unexpectedSkips.length) {
  console.log(`${unexpectedSkips.length} test(s) skipped that test/known-skips.json does not list:`);
  for (const name of unexpectedSkips.slice(0, 20)) console.log(`  - ${name}`);
  if (unexpectedSkips.length > 20) console.log(`  … and ${unexpectedSkips.length - 20} more`);
  if (embeddedOnly) console.log('(--embedded-only: expected, the run is not failed for them)');
  else failedSteps.push('unexpected skips');
}
if (failedSteps.length) console.log(`failed steps: ${failedSteps.join('; ')}`);
console.log(`tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(failedSteps.length === 0 && totals.failed === 0 ? 0 : 1);

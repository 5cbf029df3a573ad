#!/usr/bin/env node
// `npm test`: typecheck, lint, format check (Prettier), build the renderer, then unit → integration → end-to-end tests (vitest projects),
// each project in its own run so the 2-core machine is not oversubscribed. Prints one closing line
// "tests: N passed, N failed, N skipped" summed over all projects, and exits non-zero on any failure.
//
// Flags: --only unit,integration,e2e   run only these test projects (static checks still run unless --no-checks)
//        --no-checks                   skip typecheck, lint and build
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const onlyIdx = args.indexOf('--only');
const projects = onlyIdx >= 0 ? args[onlyIdx + 1].split(',') : ['unit', 'integration', 'e2e'];
const checks = !args.includes('--no-checks');
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

const npx = 'npx';
let failedSteps = [];
if (checks) {
  const steps = [
    ['typecheck (node)', npx, ['tsc', '-p', 'tsconfig.node.json']],
    ['typecheck (web)', npx, ['tsc', '-p', 'tsconfig.web.json']],
    ['typecheck (server)', npx, ['tsc', '-p', 'tsconfig.server.json']],
    ['typecheck (e2e)', npx, ['tsc', '-p', 'tsconfig.e2e.json']],
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
    // a suite that failed to load counts as a failure even when no test inside it ran
    if (!ok && report.numFailedTests === 0) failedSteps.push(`tests (${project})`);
  } catch {
    failedSteps.push(`tests (${project}): no report`);
  }
}

console.log('');
if (failedSteps.length) console.log(`failed steps: ${failedSteps.join('; ')}`);
console.log(`tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(failedSteps.length === 0 && totals.failed === 0 ? 0 : 1);

/**
 * CPU time per program and thread, from /proc (Linux): the load-independent side of bench:desktop. A frame interval
 * on a shared 2-core machine says how long a thread waited for a core as much as how much work it did; the CPU time a
 * thread used per fleet frame or per telemetry message says the work alone.
 *
 * `cpuSnapshot(rootPid)` reads every process descended from `rootPid` (the bench: the console host runs in it, and
 * Chromium, the server and the simulator are its children) and sums utime + stime per role — the host, the renderer's
 * main thread, its raster worker, its other threads (compositor, IO, …), Chromium's other processes (browser, GPU,
 * network), the server, the simulator. `cpuDelta` subtracts two snapshots (ms). Elsewhere than Linux: empty.
 */
import { readdirSync, readFileSync } from 'node:fs';

export type CpuRole =
  | 'host'
  | 'renderer main'
  | 'renderer raster worker'
  | 'renderer other threads'
  | 'chromium other processes'
  | 'server'
  | 'simulator'
  | 'other';

export type CpuSnapshot = Map<CpuRole, number>;

/** clock ticks per second (USER_HZ): 100 on every Linux this runs on */
const TICK_MS = 10;

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // the process or thread ended meanwhile
  }
}

/** [ppid, utime + stime ticks, comm] from a /proc stat line (comm may hold spaces and parentheses) */
function parseStat(stat: string): { ppid: number; ticks: number; comm: string } {
  const close = stat.lastIndexOf(')');
  const comm = stat.slice(stat.indexOf('(') + 1, close);
  const f = stat.slice(close + 2).split(' ');
  // fields after comm: state(0) ppid(1) … utime(11) stime(12)
  return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), comm };
}

function roleOf(pid: number, rootPid: number, cmdline: string): CpuRole | 'renderer' {
  if (pid === rootPid) return 'host';
  if (cmdline.includes('--type=renderer')) return 'renderer';
  if (cmdline.includes('chrom')) return 'chromium other processes';
  if (cmdline.includes('server/src/start.ts')) return 'server';
  if (cmdline.includes('desktop-sim.ts')) return 'simulator';
  return 'other';
}

export function cpuSnapshot(rootPid: number = process.pid): CpuSnapshot {
  const out: CpuSnapshot = new Map();
  if (process.platform !== 'linux') return out;
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const stat = read(`/proc/${pid}/stat`);
    if (stat) parents.set(pid, parseStat(stat).ppid);
  }
  const descends = (pid: number): boolean => {
    for (let p: number | undefined = pid, depth = 0; p !== undefined && p > 1 && depth < 32; p = parents.get(p), depth++) {
      if (p === rootPid) return true;
    }
    return false;
  };
  const add = (role: CpuRole, ticks: number) => out.set(role, (out.get(role) ?? 0) + ticks * TICK_MS);
  for (const pid of parents.keys()) {
    if (!descends(pid)) continue;
    const cmdline = (read(`/proc/${pid}/cmdline`) ?? '').replace(/\0/g, ' ');
    const role = roleOf(pid, rootPid, cmdline);
    if (role !== 'renderer') {
      const stat = read(`/proc/${pid}/stat`);
      if (stat) add(role, parseStat(stat).ticks);
      continue;
    }
    // the renderer per thread: its main thread, the raster worker (a dedicated worker) and the rest
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      const stat = read(`/proc/${pid}/task/${tid}/stat`);
      if (!stat) continue;
      const { ticks, comm } = parseStat(stat);
      add(
        tid === String(pid) || comm === 'CrRendererMain'
          ? 'renderer main'
          : comm.startsWith('DedicatedWorker')
            ? 'renderer raster worker'
            : 'renderer other threads',
        ticks,
      );
    }
  }
  return out;
}

/** CPU ms per role between two snapshots. */
export function cpuDelta(before: CpuSnapshot, after: CpuSnapshot): Map<CpuRole, number> {
  const d = new Map<CpuRole, number>();
  for (const [role, ms] of after) d.set(role, ms - (before.get(role) ?? 0));
  return d;
}

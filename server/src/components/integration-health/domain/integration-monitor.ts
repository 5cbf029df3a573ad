/**
 * Every integration's health as this server instance sees it: each probe gives a state (up, degraded, down), an
 * error and a detail; the monitor keeps since when each is in its state and a bounded log of the state changes
 * (when it went down, the error, when it came back). Probes run every few seconds, so a change is logged even
 * when no desk asks; a request re-checks when the last check is older than `maxAgeMs`.
 */
import type {
  IntegrationChange,
  IntegrationHealth,
  IntegrationName,
  IntegrationsHealth,
  IntegrationState,
} from '../../../../../src/shared/timeline.js';
import { INTEGRATION_NAMES } from '../../../../../src/shared/timeline.js';

export interface ProbeResult {
  state: IntegrationState;
  /** the current error (down/degraded), or null */
  error: string | null;
  detail: string | null;
}

export type IntegrationProbes = Record<IntegrationName, () => Promise<ProbeResult> | ProbeResult>;

export interface IntegrationMonitorOptions {
  probes: IntegrationProbes;
  now?: () => number;
  /** a probe that has not answered by then counts as down (default 3 s) */
  probeTimeoutMs?: number;
  /** how many state changes are kept (default 200) */
  maxChanges?: number;
  /** a request answers from a check at most this old (default 2 s) */
  maxAgeMs?: number;
  onChange?: (change: IntegrationChange) => void;
}

interface Current {
  state: IntegrationState;
  since: number;
  lastError: string | null;
  detail: string | null;
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

export class IntegrationMonitor {
  private readonly current = new Map<IntegrationName, Current>();
  private readonly changes: IntegrationChange[] = [];
  private checkedAt = 0;
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly options: IntegrationMonitorOptions) {
    this.now = options.now ?? Date.now;
  }

  start(intervalMs: number): void {
    void this.check();
    this.timer = setInterval(() => void this.check(), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Runs every probe now (a check already running is joined, not doubled). */
  check(): Promise<void> {
    return (this.running ??= this.runProbes().finally(() => (this.running = undefined)));
  }

  /** The health of every integration and the change log, newest first; re-checked when the last check is stale. */
  async read(): Promise<IntegrationsHealth> {
    if (this.now() - this.checkedAt > (this.options.maxAgeMs ?? 2_000)) await this.check();
    const integrations: IntegrationHealth[] = INTEGRATION_NAMES.map((name) => {
      const c = this.current.get(name)!;
      return { name, state: c.state, since: c.since, lastError: c.lastError, detail: c.detail };
    });
    return { checkedAt: this.checkedAt, integrations, changes: [...this.changes].reverse() };
  }

  private async runProbes(): Promise<void> {
    const results = await Promise.all(INTEGRATION_NAMES.map(async (name) => [name, await this.probe(name)] as const));
    const at = this.now();
    for (const [name, result] of results) {
      const before = this.current.get(name);
      const lastError = result.error ?? before?.lastError ?? null;
      if (!before || before.state !== result.state) {
        this.current.set(name, { state: result.state, since: at, lastError, detail: result.detail });
        const change: IntegrationChange = { name, from: before?.state ?? null, to: result.state, at, error: result.error };
        this.changes.push(change);
        if (this.changes.length > (this.options.maxChanges ?? 200)) this.changes.shift();
        this.options.onChange?.(change);
      } else {
        Object.assign(before, { lastError, detail: result.detail });
      }
    }
    this.checkedAt = at;
  }

  private async probe(name: IntegrationName): Promise<ProbeResult> {
    const timeoutMs = this.options.probeTimeoutMs ?? 3_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        Promise.resolve().then(() => this.options.probes[name]()),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (err) {
      return { state: 'down', error: errorText(err), detail: null };
    } finally {
      clearTimeout(timer);
    }
  }
}

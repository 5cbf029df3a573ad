import { describe, expect, it } from 'vitest';
import { RateLimitedWarn, type Logger } from './log.js';

function recordingLogger(): Logger & { lines: Array<{ msg: string; fields?: Record<string, unknown> }> } {
  const lines: Array<{ msg: string; fields?: Record<string, unknown> }> = [];
  const logger: Logger & { lines: typeof lines } = {
    lines,
    debug: () => undefined,
    info: () => undefined,
    warn: (msg, fields) => lines.push({ msg, fields }),
    error: () => undefined,
    child: () => logger,
    pino: undefined as never,
  };
  return logger;
}

describe('RateLimitedWarn', () => {
  it('logs at most once per key per window and reports the suppressed count', () => {
    let now = 0;
    const log = recordingLogger();
    const warn = new RateLimitedWarn(log, 10_000, () => now);
    for (let i = 0; i < 100; i++) warn.warn('schema', 'dropped', { i });
    warn.warn('not_json', 'dropped');
    expect(log.lines).toHaveLength(2);
    now = 10_000;
    warn.warn('schema', 'dropped', { i: 'later' });
    expect(log.lines).toHaveLength(3);
    expect(log.lines[2]!.fields).toEqual({ i: 'later', suppressed: 99 });
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCliArgs } from './cli-args.js';
import { loadCredentialsFile } from './credentials-file.js';

describe('--credentials FILE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sim-creds-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is parsed as a path', () => {
    const parsed = parseCliArgs(['--credentials', '/x/demo-credentials.json'], {});
    expect(parsed.kind === 'run' && parsed.options.credentialsFile).toBe('/x/demo-credentials.json');
    const without = parseCliArgs([], {});
    expect(without.kind === 'run' && without.options.credentialsFile).toBeUndefined();
  });

  it('gives a one-vehicle connection its vehicle id and secret; multiplexed and unknown ones nothing', async () => {
    const file = join(dir, 'c.json');
    writeFileSync(
      file,
      JSON.stringify({ devices: { 'veh-00001': 's1', 'veh-00002': 's2' }, desktop: { username: 'desktop.demo', password: 'd' } }),
    );
    const provider = await loadCredentialsFile(file);
    expect(provider('veh-00001', ['veh-00001'])).toEqual({ username: 'veh-00001', password: 's1' });
    expect(provider('sim-veh-00001-n2', ['veh-00001', 'veh-00002'])).toBeUndefined();
    expect(provider('veh-00009', ['veh-00009'])).toBeUndefined();
  });

  it('fails with the file name on a missing or malformed file', async () => {
    await expect(loadCredentialsFile(join(dir, 'missing.json'))).rejects.toThrow(/--credentials .*missing\.json/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"devices": 3}');
    await expect(loadCredentialsFile(bad)).rejects.toThrow(/no "devices" object/);
  });
});

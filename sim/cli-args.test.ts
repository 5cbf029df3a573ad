import { describe, expect, it } from 'vitest';
import { DEFAULT_API_URL, DEFAULT_MQTT_URL, parseCliArgs } from './cli-args.js';

describe('sim CLI flags', () => {
  it('has the documented defaults and takes MQTT_URL from the environment', () => {
    expect(parseCliArgs([], {})).toEqual({
      kind: 'run',
      options: {
        vehicles: 200,
        rate: 1,
        mqttUrl: DEFAULT_MQTT_URL,
        perConnection: 1,
        seed: 1,
        movingShare: 0.6,
        faults: {},
        customers: 0,
        unrentedMovement: 0.02,
        apiUrl: DEFAULT_API_URL,
      },
    });
    expect(DEFAULT_MQTT_URL).toBe('mqtt://127.0.0.1:18830');
    const r = parseCliArgs([], { MQTT_URL: 'mqtt://broker:1883' });
    expect(r.kind === 'run' && r.options.mqttUrl).toBe('mqtt://broker:1883');
  });

  it('parses every flag', () => {
    const r = parseCliArgs(
      [
        '--vehicles',
        '20000',
        '--rate',
        '0.5',
        '--mqtt',
        'ws://x:8080/mqtt',
        '--per-connection',
        '100',
        '--seed',
        '42',
        '--moving-share=0.3',
        '--fault',
        'duplicate=0.05',
        '--fault=command-delay=5000',
        '--customers',
        '60',
        '--unrented-movement',
        '0.05',
        '--api',
        'http://server:4310/',
      ],
      { MQTT_URL: 'mqtt://ignored:1', FLEETDESK_SERVER_URL: 'http://ignored:1' },
    );
    expect(r).toEqual({
      kind: 'run',
      options: {
        vehicles: 20000,
        rate: 0.5,
        mqttUrl: 'ws://x:8080/mqtt',
        perConnection: 100,
        seed: 42,
        movingShare: 0.3,
        faults: { duplicate: 0.05, commandDelayMs: 5000 },
        customers: 60,
        unrentedMovement: 0.05,
        apiUrl: 'http://server:4310',
      },
    });
    expect(parseCliArgs(['--help'], {})).toEqual({ kind: 'help' });
    const fromEnv = parseCliArgs([], { FLEETDESK_SERVER_URL: 'http://desk:1' });
    expect(fromEnv.kind === 'run' && fromEnv.options.apiUrl).toBe('http://desk:1');
  });

  it.each([
    [['--vehicles', '0'], /--vehicles must be an integer from 1 to 99999 \(got "0"\)/],
    [['--vehicles', '2.5'], /--vehicles/],
    [['--vehicles', 'lots'], /--vehicles/],
    [['--rate', 'abc'], /--rate must be a number from 0.1 to 50/],
    [['--rate', '100'], /--rate/],
    [['--per-connection', '-1'], /--per-connection/],
    [['--seed', 'x'], /--seed/],
    [['--moving-share', '1.5'], /--moving-share/],
    [['--mqtt', 'localhost:1883'], /--mqtt must be a broker URL/],
    [['--mqtt', 'http://x'], /--mqtt/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['stray'], /positional/i],
    [['--vehicles'], /argument missing|--vehicles/],
    [['--fault', 'duplicate=2'], /--fault duplicate must be a probability from 0 to 1/],
    [['--fault', 'nonsense=1'], /--fault: unknown fault "nonsense"/],
    [['--fault'], /argument missing|--fault/],
    [['--customers', 'many'], /--customers must be an integer from 0/],
    [['--unrented-movement', '2'], /--unrented-movement must be a number from 0 to 1/],
    [['--api', 'localhost:4310'], /--api must be an http\(s\) URL/],
  ])('rejects %j with one clear line', (argv, message) => {
    const r = parseCliArgs(argv, {});
    expect(r.kind).toBe('error');
    if (r.kind === 'error') {
      expect(r.message).toMatch(message);
      expect(r.message).not.toContain('\n');
    }
  });
});

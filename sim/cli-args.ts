/** Flags of `npm run sim`; parsing kept apart from index.ts so it is testable without starting anything. */
import { parseArgs } from 'node:util';
import { FAULT_SPECS, parseFaultSpecs, type FaultConfig } from './faults.js';

export const DEFAULT_MQTT_URL = 'mqtt://127.0.0.1:18830';
export const DEFAULT_API_URL = 'http://127.0.0.1:4310';
export const DEFAULT_UNRENTED_MOVEMENT = 0.02;

export interface CliOptions {
  vehicles: number;
  rate: number;
  mqttUrl: string;
  perConnection: number;
  seed: number;
  movingShare: number;
  /** from repeated `--fault name=value` (empty: no faults) */
  faults: FaultConfig;
  /** `--credentials FILE`: per-vehicle MQTT credentials (sim/credentials-file.ts) */
  credentialsFile?: string;
  /** `--customers N`: simulated customers renting the cars through the customer API (0 = off: every car drives) */
  customers: number;
  /** `--unrented-movement F`: with customers, the share of cars that still drive without a rental */
  unrentedMovement: number;
  /** `--mqtt-ca FILE`: with an mqtts:// broker, the CA certificate (PEM) its certificate must chain to */
  mqttCaFile?: string;
  /** `--mailbox DIR`: the server's sandbox mailbox (`$DATA_DIR/sandbox-mailbox`), where customers read their sign-up codes */
  mailboxDir?: string;
  /** `--api URL`: the server the customers use */
  apiUrl: string;
}

export type CliParse = { kind: 'run'; options: CliOptions } | { kind: 'help' } | { kind: 'error'; message: string };

export const USAGE = `Usage: npm run sim -- [flags]

Simulates in-car devices (device protocol v1 over MQTT) driving around the service area.

  --vehicles N        vehicles to simulate, ids veh-00001… (default 200, max 99999)
  --rate HZ           telemetry rate while moving, 0.1–50 (default 1); parked: every 10 s
  --mqtt URL          broker (default $MQTT_URL, else ${DEFAULT_MQTT_URL}, the server's embedded broker)
  --per-connection K  vehicles per MQTT connection (default 1 = one connection and last will per vehicle;
                      use e.g. 100 for large fleets — multiplexed connections carry no last will)
  --seed S            seed of all randomness, integer 0–4294967295 (default 1)
  --moving-share F    fraction of vehicles driving at any time, 0–1 (default 0.6)
  --fault NAME=VALUE  a fault on demand, repeatable (sim/README.md, "Faults"):
${Object.entries(FAULT_SPECS)
  .map(([name, rule]) => `                        ${name.padEnd(15)} ${rule.help}`)
  .join('\n')}
  --credentials FILE  per-vehicle MQTT credentials, JSON {"devices":{"<vehicle id>":"<secret>"}} (the server's
                      $DATA_DIR/demo-credentials.json); only for --per-connection 1
  --customers N       simulated customers renting the cars through the customer API (default 0: none, every car
                      drives on its own); with customers a car moves only while rented, but --unrented-movement
  --unrented-movement F  with --customers: share of the cars still driving without a rental, 0–1 (default ${DEFAULT_UNRENTED_MOVEMENT})
  --api URL           the server the customers use (default $FLEETDESK_SERVER_URL, else ${DEFAULT_API_URL})
  --mqtt-ca FILE      with an mqtts:// broker: the CA certificate (PEM) the broker's certificate must chain to;
                      a broker with any other certificate is refused (default: the system's CAs)
  --mailbox DIR       with --customers: the server's sandbox mailbox ($DATA_DIR/sandbox-mailbox), where new customers
                      read the confirmation code of their sign-up (without it only existing accounts sign in)
  --help              this text
`;

export function parseCliArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): CliParse {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        vehicles: { type: 'string' },
        rate: { type: 'string' },
        mqtt: { type: 'string' },
        'per-connection': { type: 'string' },
        seed: { type: 'string' },
        'moving-share': { type: 'string' },
        fault: { type: 'string', multiple: true },
        credentials: { type: 'string' },
        mailbox: { type: 'string' },
        'mqtt-ca': { type: 'string' },
        customers: { type: 'string' },
        'unrented-movement': { type: 'string' },
        api: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    return { kind: 'error', message: (err as Error).message.split('\n')[0]! };
  }
  if (values.help) return { kind: 'help' };

  const str = (name: string): string | undefined => values[name] as string | undefined;
  const fail = (name: string, rule: string): CliParse => ({ kind: 'error', message: `--${name} must be ${rule} (got "${str(name)}")` });

  const vehicles = parseInteger(str('vehicles') ?? '200');
  if (vehicles === undefined || vehicles < 1 || vehicles > 99_999) return fail('vehicles', 'an integer from 1 to 99999');
  const rate = parseNumber(str('rate') ?? '1');
  if (rate === undefined || rate < 0.1 || rate > 50) return fail('rate', 'a number from 0.1 to 50 (Hz)');
  const perConnection = parseInteger(str('per-connection') ?? '1');
  if (perConnection === undefined || perConnection < 1 || perConnection > 99_999)
    return fail('per-connection', 'an integer from 1 to 99999');
  const seed = parseInteger(str('seed') ?? '1');
  if (seed === undefined || seed < 0 || seed > 0xffff_ffff) return fail('seed', 'an integer from 0 to 4294967295');
  const movingShare = parseNumber(str('moving-share') ?? '0.6');
  if (movingShare === undefined || movingShare < 0 || movingShare > 1) return fail('moving-share', 'a number from 0 to 1');

  const customers = parseInteger(str('customers') ?? '0');
  if (customers === undefined || customers > 100_000) return fail('customers', 'an integer from 0 to 100000');
  const unrentedMovement = parseNumber(str('unrented-movement') ?? String(DEFAULT_UNRENTED_MOVEMENT));
  if (unrentedMovement === undefined || unrentedMovement < 0 || unrentedMovement > 1)
    return fail('unrented-movement', 'a number from 0 to 1');
  const apiUrl = str('api') ?? (env.FLEETDESK_SERVER_URL || DEFAULT_API_URL);
  if (!/^https?:\/\/[^/]+/.test(apiUrl)) return fail('api', 'an http(s) URL like http://127.0.0.1:4310');

  const faults = parseFaultSpecs((values.fault as string[] | undefined) ?? []);
  if (!faults.ok) return { kind: 'error', message: faults.message };

  const mqttUrl = str('mqtt') ?? (env.MQTT_URL || DEFAULT_MQTT_URL);
  if (!isBrokerUrl(mqttUrl)) {
    return { kind: 'error', message: `--mqtt must be a broker URL like mqtt://host:1883 (mqtt, mqtts, ws, wss) (got "${mqttUrl}")` };
  }
  const credentialsFile = str('credentials');
  const mailboxDir = str('mailbox');
  const mqttCaFile = str('mqtt-ca');
  return {
    kind: 'run',
    options: {
      vehicles,
      rate,
      mqttUrl,
      perConnection,
      seed,
      movingShare,
      faults: faults.faults,
      ...(credentialsFile ? { credentialsFile } : {}),
      ...(mailboxDir ? { mailboxDir } : {}),
      ...(mqttCaFile ? { mqttCaFile } : {}),
      customers,
      unrentedMovement,
      apiUrl: apiUrl.replace(/\/+$/, ''),
    },
  };
}

function parseInteger(s: string): number | undefined {
  return /^\d+$/.test(s.trim()) ? Number(s) : undefined;
}

function parseNumber(s: string): number | undefined {
  const t = s.trim();
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

function isBrokerUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return ['mqtt:', 'mqtts:', 'tcp:', 'tls:', 'ws:', 'wss:'].includes(u.protocol) && u.hostname !== '';
  } catch {
    return false;
  }
}

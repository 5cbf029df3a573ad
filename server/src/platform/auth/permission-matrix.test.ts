/**
 * The permission matrix, generated from the server's own OpenAPI document: every operation × every kind of
 * caller (anonymous, customer A, customer B, dispatcher, support, admin). Nothing here lists routes by hand: a
 * route merged tomorrow is walked tomorrow. The expectation comes from the route's declared rule (`config.auth`,
 * which the document carries as `security` + `x-capability`) and the role table (src/shared/permissions.ts
 * CAPABILITIES; the sync collections from SYNC_CAPABILITY), never from a list of roles written here:
 *
 * - an operation with no rule fails the test unless it is on PUBLIC_OPERATIONS below (health, GBFS, logins, the
 *   signed webhook, …); a public operation that is not on that list fails it too;
 * - protected: anonymous → 401; a token of the other kind (customer on staff routes, staff on customer routes) →
 *   401; a staff role without the capability → 403; callers who have it → anything but 401/403 (and no 5xx);
 * - the auth hook runs on `onRequest`, before the body is parsed or validated; the anonymous caller therefore
 *   sends no body and no query at all and must still get 401 (a 400 would mean validation ran first). Allowed
 *   callers send bodies and queries generated from the operation's schemas, so they reach the handler (unknown
 *   ids: nothing existing is changed);
 * - sync: pull and stream per collection per role by SYNC_CAPABILITY (read), push per collection per role
 *   (write: a refused row says `forbidden_role`), the multiplexed stream per collection;
 * - object level: every `/v1` operation with a path parameter is called by customer B with customer A's object
 *   (reservation, booking, rental, damage report, payment method) → 404 or 403, and A's GETs of the same ids
 *   succeed (so B's refusal is not the refusal of an unknown id); B's lists never contain A's objects.
 *
 * One server on PGlite: the rules are in the HTTP layer and the role table, not in the database engine.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR_ROLES, type OperatorRole } from '../../../../src/shared/operator-role.js';
import { can, isCapability, type Capability } from '../../../../src/shared/permissions.js';
import { SYNC_ACCESS, SYNC_CAPABILITY, SYNC_COLLECTIONS } from '../../../../src/shared/sync-protocol.js';
import { demoVehicleId } from '../../../../src/shared/demo-fleet.js';
import { startServer, type ServerHandle } from '../../app.js';
import { IN_MEMORY_DATA_DIR } from '../config.js';
import { READY_TO_BOOK, signUpCustomer, staffHeaders, type SignedUpCustomer } from '../../testing/auth.js';
import { insertClaimRow, MIN, QUIET } from '../../testing/bookings.js';

type Json = Record<string, unknown>;
type Caller = 'anonymous' | 'customerA' | 'customerB' | OperatorRole;
const CALLERS: readonly Caller[] = ['anonymous', 'customerA', 'customerB', ...OPERATOR_ROLES];
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/**
 * The operations anyone may call, by design. Each is either outside the protected prefixes (liveness, readiness,
 * metrics — behind OPS_TOKEN in production —, the GBFS feed, the payment provider's webhook, which checks its
 * signature) or declared `auth: 'public'` because it is how one gets a token or what an app shows before sign-in.
 */
const PUBLIC_OPERATIONS: ReadonlyArray<RegExp> = [
  /^GET \/(health|ready|metrics)$/,
  /^GET \/gbfs\/v3\/[a-z_]+\.json$/,
  /^POST \/webhooks\/payments$/,
  /^POST \/(v1|ops\/v1)\/auth\/(signup|login|refresh|logout)$/,
  /^POST \/v1\/auth\/verify-email$/,
  /^GET \/v1\/(vehicles\/available|vehicle-types)$/,
];
const isListedPublic = (key: string) => PUBLIC_OPERATIONS.some((p) => p.test(key));

type Rule = { kind: 'public' } | { kind: 'customer' } | { kind: 'staff'; capability: Capability } | { kind: 'none'; why: string };

interface Operation {
  method: string;
  template: string;
  op: Json;
  rule: Rule;
}

/** The rule an operation declares, as the document says it (security + x-capability, from `config.auth`). */
function ruleOf(op: Json): Rule {
  const security = op.security as Array<Json> | undefined;
  if (security === undefined) return { kind: 'none', why: 'declares no auth rule' };
  if (security.length === 0) return { kind: 'public' };
  if (security.some((s) => 'customerBearer' in s)) return { kind: 'customer' };
  if (security.some((s) => 'staffBearer' in s)) {
    const capability = op['x-capability'];
    return isCapability(capability) ? { kind: 'staff', capability } : { kind: 'none', why: `names no capability of the role table` };
  }
  return { kind: 'none', why: `unknown security ${JSON.stringify(security)}` };
}

/** Resolves `$ref`s inside the document. */
function deref(doc: Json, node: unknown): Json | undefined {
  let current = node as Json | undefined;
  for (let i = 0; i < 10 && current && typeof current.$ref === 'string'; i++) {
    let target: unknown = doc;
    for (const key of (current.$ref as string).slice(2).split('/')) target = (target as Json | undefined)?.[decodeURIComponent(key)];
    current = target as Json | undefined;
  }
  return current;
}

/** A value valid for `schema` (the shapes TypeBox emits): examples, defaults, consts, enums, bounds, formats. */
function sample(doc: Json, raw: unknown): unknown {
  const schema = deref(doc, raw);
  if (!schema) return undefined;
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0];
  if (schema.default !== undefined) return schema.default;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = schema[key] as unknown[] | undefined;
    if (options?.length) return sample(doc, options.find((o) => deref(doc, o)?.type !== 'null') ?? options[0]);
  }
  if (Array.isArray(schema.allOf)) return Object.assign({}, ...schema.allOf.map((s) => sample(doc, s) as Json));
  const type = Array.isArray(schema.type) ? (schema.type as string[]).find((t) => t !== 'null') : (schema.type as string | undefined);
  switch (type) {
    case 'object': {
      const properties = (schema.properties ?? {}) as Json;
      const names = [...((schema.required ?? []) as string[])];
      // `minProperties` (PATCH bodies): add optional properties until there are enough
      for (const name of Object.keys(properties))
        if (names.length < Number(schema.minProperties ?? 0) && !names.includes(name)) names.push(name);
      return Object.fromEntries(names.map((name) => [name, sample(doc, properties[name])]));
    }
    case 'array':
      return Array.from({ length: Number(schema.minItems ?? 0) }, () => sample(doc, schema.items));
    case 'integer':
    case 'number': {
      const min = schema.minimum ?? (schema.exclusiveMinimum === undefined ? undefined : Number(schema.exclusiveMinimum) + 1);
      const max = schema.maximum ?? (schema.exclusiveMaximum === undefined ? undefined : Number(schema.exclusiveMaximum) - 1);
      return Number(min ?? Math.min(1, Number(max ?? 1)));
    }
    case 'boolean':
      return false;
    case 'string':
      return sampleString(schema);
    default:
      return undefined;
  }
}

/** Later date-times in each sample, so a window's end comes after its start. */
let clock = Date.now() + 86_400_000;

/** Strings of the shapes our schemas ask for; a pattern takes the first candidate it accepts. */
const STRING_CANDIDATES = (): string[] => [
  'matrix-probe',
  `matrix-${randomUUID().slice(0, 8)}@example.test`,
  randomUUID(),
  '+49301234567',
  'desktop.matrix-probe',
  new Date((clock += 3_600_000)).toISOString(),
  new Date(Date.now() + 3 * 365 * 86_400_000).toISOString().slice(0, 10),
  'DE',
  'EUR',
  'https://example.test/matrix',
];

function sampleString(schema: Json): string {
  const min = Number(schema.minLength ?? 0);
  const max = Number(schema.maxLength ?? Infinity);
  const pattern = typeof schema.pattern === 'string' ? new RegExp(schema.pattern, 'u') : undefined;
  const byFormat: Record<string, number> = { email: 1, uuid: 2, 'date-time': 5, date: 6, uri: 9 };
  const candidates = STRING_CANDIDATES();
  const preferred = typeof schema.format === 'string' && schema.format in byFormat ? [candidates[byFormat[schema.format]!]!] : [];
  for (const candidate of [...preferred, ...candidates]) {
    const padded = candidate.length < min ? candidate.padEnd(min, 'x') : candidate;
    if (padded.length <= max && (!pattern || pattern.test(padded))) return padded;
  }
  return 'matrix-probe'.padEnd(min, 'x').slice(0, Math.max(min, Math.min(12, max)));
}

interface Probe {
  /** the row of the matrix, for failures */
  label: string;
  method: string;
  path: string;
  body?: { json: unknown } | undefined;
  /** who gets past authorization */
  allowed: (caller: Caller) => boolean;
  /** the 401 of a missing/wrong-kind token vs the 403 of a role */
  denial: (caller: Caller) => 401 | 403;
  /** sync push: the verdict is in the answer's rows, not the status */
  push?: boolean;
  stream?: boolean;
}

const isCustomer = (c: Caller) => c === 'customerA' || c === 'customerB';
const isStaff = (c: Caller): c is OperatorRole => (OPERATOR_ROLES as readonly string[]).includes(c);

/** The requests of one operation: one per sync collection where the path names one, else one. */
function probesOf(doc: Json, { method, template, op, rule }: Operation): Probe[] {
  const parameters = ((op.parameters ?? []) as unknown[]).map((p) => deref(doc, p)!).filter(Boolean);
  const query = new URLSearchParams();
  for (const p of parameters)
    if (p.in === 'query' && p.required === true && p.name !== 'collections') query.set(String(p.name), String(sample(doc, p.schema)));
  const fill = (path: string) =>
    path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
      const schema = deref(doc, parameters.find((p) => p.in === 'path' && p.name === name)?.schema);
      return encodeURIComponent(schema ? String(sample(doc, { ...schema, examples: undefined })) : `matrix-unknown-${name}`);
    });
  const jsonBody = deref(doc, (deref(doc, op.requestBody)?.content as Json | undefined)?.['application/json']);
  const body = jsonBody ? { json: sample(doc, jsonBody.schema) } : undefined;
  const withQuery = (path: string, extra: Record<string, string> = {}) => {
    const q = new URLSearchParams(query);
    for (const [k, v] of Object.entries(extra)) q.set(k, v);
    const text = q.toString();
    return text ? `${path}?${text}` : path;
  };
  const base = { method: method.toUpperCase(), body };
  const key = `${method.toUpperCase()} ${template}`;

  if (rule.kind === 'public' || rule.kind === 'none')
    return [{ ...base, label: key, path: withQuery(fill(template)), allowed: () => true, denial: () => 401 }];
  if (rule.kind === 'customer') return [{ ...base, label: key, path: withQuery(fill(template)), allowed: isCustomer, denial: () => 401 }];

  const capability = rule.capability;
  const staffRule = (also: (role: OperatorRole) => boolean = () => true) => ({
    allowed: (c: Caller) => isStaff(c) && can(c, capability) && also(c),
    denial: (c: Caller): 401 | 403 => (isStaff(c) ? 403 : 401),
  });
  if (template.startsWith('/sync/v1/')) {
    // one row per collection, with the collection's own rule (SYNC_CAPABILITY through SYNC_ACCESS)
    const readers = (c: (typeof SYNC_COLLECTIONS)[number]) => (role: OperatorRole) => SYNC_ACCESS[c].read.includes(role);
    if (template.includes('{collection}'))
      return SYNC_COLLECTIONS.map((c) => {
        const path = withQuery(template.replace('{collection}', c));
        if (template.endsWith('/push'))
          return {
            ...base,
            label: `${key} [${c}, write: ${JSON.stringify(SYNC_CAPABILITY[c].write)}]`,
            path,
            body: { json: [{ newDocumentState: { id: `matrix-probe-${c}` } }] },
            push: true,
            // route: fleet.read; each row: the collection's write rule
            ...staffRule((role) => SYNC_ACCESS[c].write.includes(role)),
          };
        return {
          ...base,
          label: `${key} [${c}, read: ${SYNC_CAPABILITY[c].read}]`,
          path,
          stream: template.endsWith('/stream'),
          ...staffRule(readers(c)),
        };
      });
    if (parameters.some((p) => p.in === 'query' && p.name === 'collections'))
      return SYNC_COLLECTIONS.map((c) => ({
        ...base,
        label: `${key} [${c}, read: ${SYNC_CAPABILITY[c].read}]`,
        path: withQuery(template, { collections: c }),
        stream: true,
        ...staffRule(readers(c)),
      }));
  }
  return [{ ...base, label: `${key} [${capability}]`, path: withQuery(fill(template)), ...staffRule() }];
}

describe('permission matrix generated from the OpenAPI document (PGlite)', () => {
  let server: ServerHandle;
  let doc: Json;
  let operations: Operation[];
  let customerA: SignedUpCustomer;
  let customerB: SignedUpCustomer;
  const headers = {} as Record<Caller, Record<string, string>>;
  /** customer A's objects, by the path segment that names them */
  const ownedByA: Record<string, string> = {};

  beforeAll(async () => {
    server = await startServer({ ...QUIET, seedVehicles: 3, seedDemoStaff: false, databaseUrl: undefined, dataDir: IN_MEMORY_DATA_DIR });
    [customerA, customerB] = await Promise.all([signUpCustomer(server, READY_TO_BOOK), signUpCustomer(server, READY_TO_BOOK)]);
    headers.anonymous = {};
    headers.customerA = customerA.headers;
    headers.customerB = customerB.headers;
    for (const role of OPERATOR_ROLES) headers[role] = await staffHeaders(server, role, `matrix-${role}`);
    doc = (await (await fetch(`${server.httpUrl}/openapi.json`)).json()) as Json;
    operations = Object.entries(doc.paths as Record<string, Json>).flatMap(([template, item]) =>
      METHODS.filter((m) => item[m]).map((method) => ({ method, template, op: item[method] as Json, rule: ruleOf(item[method] as Json) })),
    );

    // customer A's objects: a reservation, a booking, a rental (written as the bookings code writes them), a
    // damage report on the rental (through the API), the payment method READY_TO_BOOK added
    const now = Date.now();
    const claim = { customerId: customerA.customerId, from: now, to: now + 15 * MIN };
    ownedByA.reservations = randomUUID();
    ownedByA.bookings = randomUUID();
    ownedByA.rentals = randomUUID();
    await insertClaimRow(server, { ...claim, id: ownedByA.reservations, kind: 'reservation', vehicleId: demoVehicleId(0), status: 'held' });
    await insertClaimRow(server, {
      ...claim,
      id: ownedByA.bookings,
      kind: 'booking',
      vehicleId: demoVehicleId(1),
      status: 'confirmed',
      from: now + 86_400_000,
      to: now + 86_400_000 + 60 * MIN,
    });
    await insertClaimRow(server, {
      ...claim,
      id: ownedByA.rentals,
      kind: 'rental',
      vehicleId: demoVehicleId(2),
      status: 'active',
      to: null,
    });
    const form = new FormData();
    form.set('text', 'scratch on the rear bumper');
    const report = await fetch(`${server.httpUrl}/v1/rentals/${ownedByA.rentals}/damage-reports`, {
      method: 'POST',
      headers: customerA.headers,
      body: form,
    });
    expect(report.status).toBe(201);
    ownedByA['damage-reports'] = ((await report.json()) as { reportId: string }).reportId;
    const methods = await fetch(`${server.httpUrl}/v1/me/payment-methods`, { headers: customerA.headers });
    const list = (await methods.json()) as { paymentMethods: Array<{ paymentMethodId: string }> };
    ownedByA['payment-methods'] = list.paymentMethods[0]!.paymentMethodId;
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function send(caller: Caller, probe: Pick<Probe, 'method' | 'path' | 'body' | 'stream'>, form?: FormData) {
    const abort = new AbortController();
    const hasJson = probe.body !== undefined && form === undefined;
    const res = await fetch(`${server.httpUrl}${probe.path}`, {
      method: probe.method,
      headers: { ...headers[caller], ...(hasJson ? { 'content-type': 'application/json' } : {}) },
      ...(form ? { body: form } : hasJson ? { body: JSON.stringify(probe.body!.json) } : {}),
      signal: abort.signal,
    });
    if (res.status === 200 && res.headers.get('content-type')?.startsWith('text/event-stream')) {
      abort.abort(); // a stream that opened: the verdict is in
      return { status: res.status, type: res.headers.get('content-type'), body: undefined as unknown };
    }
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, type: res.headers.get('content-type'), body };
  }
  const codeOf = (body: unknown) => (body && typeof body === 'object' ? (body as Json).code : undefined);

  it('every operation declares a rule or is on the public list, and every public one is on the list', () => {
    // not an empty walk: the customer, staff and sync APIs are all in the document
    expect(operations.filter((o) => o.template.startsWith('/v1/')).length).toBeGreaterThan(15);
    expect(operations.filter((o) => o.template.startsWith('/ops/v1/')).length).toBeGreaterThan(40);
    expect(operations.filter((o) => o.template.startsWith('/sync/v1/')).length).toBeGreaterThanOrEqual(4);
    const unruled = operations
      .filter((o) => (o.rule.kind === 'none' || o.rule.kind === 'public') && !isListedPublic(`${o.method.toUpperCase()} ${o.template}`))
      .map(
        (o) =>
          `${o.method.toUpperCase()} ${o.template}: ${o.rule.kind === 'none' ? o.rule.why : "auth: 'public' but not on PUBLIC_OPERATIONS"}`,
      );
    expect(unruled).toEqual([]);
  });

  // about a thousand requests in one test: give it room on a loaded machine
  it(
    'every operation × anonymous, customer A, customer B, dispatcher, support, admin → the status the role table says',
    { timeout: 180_000 },
    async () => {
      // an operation without a rule fails the test above; here it would only repeat that
      const probes = operations
        .filter((o) => o.rule.kind !== 'none' || isListedPublic(`${o.method.toUpperCase()} ${o.template}`))
        .flatMap((o) => probesOf(doc, o));
      const failures: string[] = [];
      const cells = { allowed: 0, denied: 0 };
      for (const probe of probes) {
        for (const caller of CALLERS) {
          // the anonymous caller sends nothing but the method and path: refused before any parsing or validation
          const bare = caller === 'anonymous' && !probe.push && !probe.allowed(caller);
          const res = await send(caller, bare ? { ...probe, path: probe.path.split('?')[0]!, body: undefined } : probe);
          const cell = `${caller} × ${probe.label} → ${res.status} ${String(codeOf(res.body) ?? '')}`;
          if (res.status >= 500) {
            failures.push(`${cell} (server error)`);
            continue;
          }
          if (probe.allowed(caller)) {
            cells.allowed++;
            // the generated request must reach the handler, or the cell proves little (give the schema `examples`)
            if (codeOf(res.body) === 'validation')
              failures.push(`${cell} (the generated request failed validation: ${String((res.body as Json).detail)})`);
            const refusedByAuth =
              (res.status === 401 && codeOf(res.body) === 'unauthorized') ||
              (res.status === 403 && ['forbidden', 'route_not_permitted', 'forbidden_role'].includes(String(codeOf(res.body))));
            if (refusedByAuth) failures.push(`${cell} (should be allowed)`);
            if (probe.push && JSON.stringify(res.body).includes('forbidden_role')) failures.push(`${cell} (row refused: forbidden_role)`);
            continue;
          }
          cells.denied++;
          if (probe.push && res.status === 200) {
            // the route admits every staff role; the collection's write rule refuses the row
            const rows = res.body as Array<{ syncRejection?: { code?: string } }>;
            if (rows[0]?.syncRejection?.code !== 'forbidden_role') failures.push(`${cell} (row should be refused forbidden_role)`);
            continue;
          }
          const expected = probe.denial(caller);
          if (res.status !== expected || !res.type?.startsWith('application/problem+json'))
            failures.push(`${cell} (expected a ${expected} problem)`);
        }
      }
      expect(failures).toEqual([]);
      expect(cells.allowed).toBeGreaterThan(100);
      expect(cells.denied).toBeGreaterThan(100);
    },
  );

  it("customer B cannot see or act on customer A's objects through any /v1 operation with an id (404 or 403)", async () => {
    const withId = operations.filter((o) => o.template.startsWith('/v1/') && o.template.includes('{'));
    expect(withId.length).toBeGreaterThanOrEqual(9);
    const failures: string[] = [];
    for (const operation of withId) {
      const { template, method } = operation;
      // Each parameter names A's object of the collection it follows (/rentals/{id} → A's rental). The first one
      // must: it is the object whose owner decides. A deeper one without a fixture of A (a photo's index under A's
      // report) keeps the matrix's sample value — B is still asking about A's object — and A's own check is skipped.
      const [probe] = probesOf(doc, operation);
      const templateParts = template.split('/');
      const sampleParts = probe!.path.split('?')[0]!.split('/');
      const missing: string[] = [];
      let first = true;
      const parts = templateParts.map((part, i) => {
        const param = /^\{(.+)\}$/.exec(part)?.[1];
        if (param === undefined) return part;
        const isFirst = first;
        first = false;
        const id = ownedByA[templateParts[i - 1]!];
        if (id !== undefined) return id;
        missing.push(`{${param}} after /${templateParts[i - 1]}/`);
        return isFirst ? undefined : sampleParts[i];
      });
      if (parts.includes(undefined)) {
        failures.push(`${method.toUpperCase()} ${template}: customer A has no object for ${missing[0]} — add one to ownedByA`);
        continue;
      }
      const path = parts.join('/');
      const request = { ...probe!, path: `${path}${probe!.path.includes('?') ? probe!.path.slice(probe!.path.indexOf('?')) : ''}` };
      let res = await send('customerB', request);
      // the document carries no multipart bodies (damage reports, photos): a 415 means "send it as a form"
      if (res.status === 415) {
        const form = new FormData();
        form.set('text', 'not your rental');
        res = await send('customerB', request, form);
      }
      if (res.status !== 404 && res.status !== 403)
        failures.push(`customerB × ${method.toUpperCase()} ${template} with A's ids → ${res.status} ${String(codeOf(res.body) ?? '')}`);
      if (method === 'get' && missing.length === 0) {
        // A gets past the ownership check (a 409 "not ended yet" for a receipt is fine; 404/403 is not)
        const own = await send('customerA', request);
        if ([401, 403, 404].includes(own.status) || own.status >= 500)
          failures.push(`customerA × GET ${template} with A's own ids → ${own.status} (fixture not A's?)`);
      }
    }
    expect(failures).toEqual([]);
    // A's objects are still there and still A's after everything B tried
    for (const segment of ['reservations', 'bookings', 'rentals'] as const)
      expect((await send('customerA', { method: 'GET', path: `/v1/${segment}/${ownedByA[segment]}` })).status, segment).toBe(200);
  });

  it("customer B's lists never contain customer A's objects", async () => {
    const lists = operations.filter((o) => o.template.startsWith('/v1/') && o.method === 'get' && !o.template.includes('{'));
    expect(lists.length).toBeGreaterThanOrEqual(4);
    for (const operation of lists) {
      const [probe] = probesOf(doc, operation);
      const res = await send('customerB', probe!);
      const text = JSON.stringify(res.body);
      for (const [kind, id] of [...Object.entries(ownedByA), ['customer', customerA.customerId], ['email', customerA.email]])
        expect(text, `${probe!.label} shows A's ${kind}`).not.toContain(id);
    }
  });
});

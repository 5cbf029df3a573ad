/**
 * An audit entry's before/after as a person reads it: the fields that changed (nested objects flattened to
 * "a › b"), each with its old and new value in words — amounts in cents as money, timestamps in the desk's
 * format, null as "none". A creation (no before) lists what was set; a removal (no after) what was there.
 */
import { formatDateTime, formatMoney, plainServerText } from '../../lib/format';

export interface FieldChange {
  field: string;
  before: string | undefined;
  after: string | undefined;
}

const MAX_DEPTH = 3;

/** field path → value, for plain objects down to MAX_DEPTH; anything else is one value under '' */
function flatten(value: unknown, prefix: string[] = [], out = new Map<string, unknown>()): Map<string, unknown> {
  if (isPlainObject(value) && prefix.length < MAX_DEPTH && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) flatten(v, [...prefix, k], out);
  } else {
    out.set(prefix.join('\u0000'), value);
  }
  return out;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** "refundedCents" → "refunded", "serviceState" → "service state", nested as "payment › status" */
export function fieldWords(path: string): string {
  if (path === '') return 'value';
  return path
    .split('\u0000')
    .map((k) =>
      k
        .replace(/Cents$/, '')
        .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
        .replace(/_/g, ' ')
        .toLowerCase(),
    )
    .join(' › ');
}

export function valueWords(value: unknown, key = '', currency?: string): string {
  if (value === null || value === undefined || (Array.isArray(value) && value.length === 0)) return 'none';
  if (typeof value === 'number' && /Cents$/.test(key)) return formatMoney(value, currency ?? 'EUR');
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'string') return value === '' ? '(empty)' : plainServerText(value);
  // epoch ms of a time field (`expiresAt`, `startedAt`, …): a date, not 13 digits
  if (typeof value === 'number' && /(At|_at)$/.test(key) && value > 1e11 && value < 1e14) return formatDateTime(value);
  if (typeof value === 'number') return String(value);
  const json = JSON.stringify(value);
  return json.length > 120 ? `${json.slice(0, 117)}…` : json;
}

function currencyOf(...sides: unknown[]): string | undefined {
  for (const s of sides) if (isPlainObject(s) && typeof s.currency === 'string') return s.currency;
  return undefined;
}

export function auditDiff(before: unknown, after: unknown): FieldChange[] {
  const currency = currencyOf(after, before);
  const b = before === null || before === undefined ? new Map<string, unknown>() : flatten(before);
  const a = after === null || after === undefined ? new Map<string, unknown>() : flatten(after);
  const fields = [...new Set([...b.keys(), ...a.keys()])];
  const changes: FieldChange[] = [];
  for (const f of fields) {
    const inB = b.has(f);
    const inA = a.has(f);
    const bv = b.get(f);
    const av = a.get(f);
    if (inB && inA && JSON.stringify(bv) === JSON.stringify(av)) continue;
    const key = f.split('\u0000').pop() ?? '';
    changes.push({
      field: fieldWords(f),
      before: inB ? valueWords(bv, key, currency) : undefined,
      after: inA ? valueWords(av, key, currency) : undefined,
    });
  }
  return changes;
}

/** "payment.refund_requested" → "Payment: refund requested" */
export function actionWords(action: string): string {
  const [area, ...rest] = action.split('.');
  const what = rest.join(' ').replace(/_/g, ' ');
  const head = (area ?? '').charAt(0).toUpperCase() + (area ?? '').slice(1);
  return what ? `${head}: ${what}` : head;
}

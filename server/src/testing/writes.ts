/**
 * Test helpers around writes: an active rental written straight into the database (for tests about what happens
 * during one; starting one is the journey tests' job), and a failing audit insert — to show that a change and its
 * audit entry are one transaction (the change must not survive its audit entry's failure).
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../platform/db/index.js';

/** An active rental of the car by the customer, started now, with no payment hold; returns its id. */
export async function insertActiveRental(db: Db, vehicleId: string, customerId: string): Promise<string> {
  const id = randomUUID();
  await db.query(
    `insert into allocations (id, kind, vehicle_id, customer_id, status, period, started_at, server_seq)
     values ($1, 'rental', $2, $3, 'active', tstzrange(now(), 'infinity'), now(), fleetdesk_next_seq())`,
    [id, vehicleId, customerId],
  );
  return id;
}

/** Runs `fn` while every audit insert of `action` fails (a trigger raising), and removes the trigger after. */
export async function whileAuditFails<T>(db: Db, action: string, fn: () => Promise<T>): Promise<T> {
  if (!/^[a-z_.]+$/.test(action)) throw new Error(`not an audit action: ${action}`);
  await db.query(`create function test_fail_audit() returns trigger language plpgsql as $$
    begin if new.action = '${action}' then raise exception 'audit refused (test)'; end if; return new; end $$`);
  await db.query('create trigger test_fail_audit before insert on audit_log for each row execute function test_fail_audit()');
  try {
    return await fn();
  } finally {
    await db.query('drop trigger test_fail_audit on audit_log');
    await db.query('drop function test_fail_audit()');
  }
}

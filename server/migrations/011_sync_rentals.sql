-- Replica (issue 4, rest): the `rentals` and `customers` collections and the support actions as `requests`.
-- `rentals` is the allocations table of 009_bookings.sql (its notify/tombstone triggers are there);
-- `customers` (007_identity.sql) gets them here. Both are read-only in the replica: changes go through the
-- staff use cases, which take server_seq under the replication lock (platform/db/replication.ts).

-- `create or replace` so that an identical trigger added by the table's owner later does not clash.
create or replace trigger customers_sync_notify after insert or update or delete on customers for each statement execute function fleetdesk_sync_notify('customers');
create or replace trigger customers_sync_tombstone after delete on customers for each row execute function fleetdesk_sync_tombstone('customers', 'id');
create or replace trigger customers_sync_untombstone after insert on customers for each row execute function fleetdesk_sync_untombstone('customers', 'id');

-- Support actions written offline on the desktop, executed once by the server through the owning components'
-- use cases (payments: refund; bookings: end a rental on the customer's behalf; customers: block/unblock).
alter table sync_requests drop constraint sync_requests_kind_check;
alter table sync_requests add constraint sync_requests_kind_check
  check (kind in ('vehicle_command', 'refund', 'end_rental', 'block_customer', 'unblock_customer'));
-- The creator's role, so a request retried later (after a crash, or while a provider is down) runs with the
-- permissions it was submitted with — not as the system.
alter table sync_requests add column created_role text check (created_role in ('dispatcher', 'support', 'admin'));

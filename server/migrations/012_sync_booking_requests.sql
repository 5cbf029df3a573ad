-- Support agents extend or cancel a customer's booking from the desktop: two more request kinds, executed
-- through the staff booking routes (POST /ops/v1/bookings/{id}/extend | cancel) as their creator.
alter table sync_requests drop constraint sync_requests_kind_check;
alter table sync_requests add constraint sync_requests_kind_check
  check (kind in ('vehicle_command', 'refund', 'end_rental', 'block_customer', 'unblock_customer', 'extend_booking', 'cancel_booking'));

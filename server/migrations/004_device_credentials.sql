-- MQTT credentials: one row per broker account (a device, a desktop, a server instance). Secrets are never
-- stored: `secret_hash` is scrypt with a per-secret salt and its parameters encoded in the string;
-- `broker_hash` is the same secret as PBKDF2-SHA512 in Mosquitto's password-file format (`$7$…`), so the
-- Mosquitto password file can be regenerated at any time without the secrets. Both hash a random 256-bit
-- secret, which no work factor is needed to protect (see server/src/components/device-identity).

create table mqtt_credentials (
  username    text primary key,
  role        text not null check (role in ('device', 'desktop', 'service')),
  -- a device's username is its vehicle id; other roles have none
  vehicle_id  text references vehicles (id) on delete cascade,
  secret_hash text not null,
  broker_hash text not null,
  created_at  timestamptz not null default now(),
  rotated_at  timestamptz,
  disabled_at timestamptz,
  constraint mqtt_credentials_device_vehicle check ((role = 'device') = (vehicle_id is not null)),
  constraint mqtt_credentials_device_username check (role <> 'device' or username = vehicle_id)
);
create unique index mqtt_credentials_vehicle_idx on mqtt_credentials (vehicle_id) where vehicle_id is not null;

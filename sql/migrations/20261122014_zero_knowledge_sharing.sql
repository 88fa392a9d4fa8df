-- 20261122014_zero_knowledge_sharing.sql
-- What: the zero-knowledge cycle tracker's data and the way a user shares it with clinicians.
--   * app.encrypted_user_prefs   one client-encrypted envelope per user (preferences).
--   * app.encrypted_cycle_data   client-encrypted cycle records; `version` is the optimistic
--                                concurrency token (app.update_cycle_data_optimistic raises
--                                SQLSTATE PT409 on a stale version); deleted_at is a sync tombstone.
--   * app.healthcare_shares      what a user shares (scopes), with whom, until when.
--   * app.share_tokens           bearer links for a share, stored ONLY as sha256, with expiry and a
--                                use limit (app.create_share_token / auth.validate_share_token).
--   * app.device_keys            public keys of a user's devices (for envelope key wrapping), with
--                                rotation history (app.rotate_device_key).
-- Why: the cycle tracker's migration framework (CryptoEnvelope, version-based concurrency, token
-- sharing, device keys). The server never sees plaintext: envelopes are opaque JSON with a checked
-- shape (version, algorithm, IV, ciphertext). These rows belong to a person (user_id), not to an
-- organization, so their audit entries chain per user ('user:<id>').

create or replace function app.is_crypto_envelope(p_envelope jsonb)
returns boolean
language sql
immutable
set search_path = ''
as $fn$
  select jsonb_typeof(p_envelope) = 'object'
     and p_envelope ?& array['v', 'alg', 'iv', 'ct']
     and jsonb_typeof(p_envelope -> 'v') = 'number'
     and (p_envelope ->> 'alg') in ('AES-256-GCM', 'XChaCha20-Poly1305')
     and jsonb_typeof(p_envelope -> 'iv') = 'string'
     and jsonb_typeof(p_envelope -> 'ct') = 'string'
     and (p_envelope ->> 'ct') ~ '^[A-Za-z0-9+/_=-]+$'
     and length(p_envelope::text) <= 1048576
$fn$;

comment on function app.is_crypto_envelope(jsonb) is
  'Shape of a client-side CryptoEnvelope: {v: number, alg: AES-256-GCM|XChaCha20-Poly1305, iv: string, ct: base64 string, [kid], [aad]}, at most 1 MiB.';

create table app.encrypted_user_prefs (
  id         uuid        not null default gen_random_uuid(),
  user_id    uuid        not null,
  envelope   jsonb       not null,
  version    bigint      not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint encrypted_user_prefs_pkey primary key (id),
  constraint encrypted_user_prefs_user_key unique (user_id),
  constraint encrypted_user_prefs_user_fkey foreign key (user_id) references app.profiles (id) on delete cascade,
  constraint encrypted_user_prefs_envelope_shape check (app.is_crypto_envelope(envelope)),
  constraint encrypted_user_prefs_version_positive check (version >= 1)
);

comment on table app.encrypted_user_prefs is 'A user''s preferences as one client-side encrypted envelope (zero-knowledge: the server cannot read it).';
comment on column app.encrypted_user_prefs.envelope is 'PHI: client-side encrypted preferences (ciphertext only; keys never reach the server).';

alter table app.encrypted_user_prefs enable row level security, force row level security;
create policy baseline_deny_all on app.encrypted_user_prefs as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.encrypted_user_prefs for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on app.encrypted_user_prefs
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on app.encrypted_user_prefs
  for each row execute function audit.log_change();

create table app.encrypted_cycle_data (
  id         uuid        not null default gen_random_uuid(),
  user_id    uuid        not null,
  envelope   jsonb       not null,
  version    bigint      not null default 1,
  deleted_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint encrypted_cycle_data_pkey primary key (id),
  constraint encrypted_cycle_data_user_fkey foreign key (user_id) references app.profiles (id) on delete cascade,
  constraint encrypted_cycle_data_envelope_shape check (app.is_crypto_envelope(envelope)),
  constraint encrypted_cycle_data_version_positive check (version >= 1)
);

comment on table app.encrypted_cycle_data is
  'Client-side encrypted cycle-tracking records (zero-knowledge). version is the optimistic-concurrency token; deleted_at marks a tombstone for device sync.';
comment on column app.encrypted_cycle_data.envelope is 'PHI: client-side encrypted cycle data (ciphertext only).';
comment on column app.encrypted_cycle_data.id is 'Record id, may be generated on the device (offline creation).';

create index encrypted_cycle_data_sync_idx on app.encrypted_cycle_data (user_id, updated_at desc) include (version);

alter table app.encrypted_cycle_data enable row level security, force row level security;
create policy baseline_deny_all on app.encrypted_cycle_data as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.encrypted_cycle_data for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on app.encrypted_cycle_data
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on app.encrypted_cycle_data
  for each row execute function audit.log_change();

-- ---------------------------------------------------------------------------------------------

create table app.healthcare_shares (
  id                    uuid        not null default gen_random_uuid(),
  user_id               uuid        not null,
  recipient_provider_id uuid,
  recipient_label       text,
  scopes                text[]      not null,
  shared_envelope       jsonb,
  status                text        not null default 'active',
  expires_at            timestamptz not null,
  revoked_at            timestamptz,
  created_at            timestamptz not null default now(),
  updated_at            timestamptz not null default now(),
  constraint healthcare_shares_pkey primary key (id),
  constraint healthcare_shares_user_fkey foreign key (user_id) references app.profiles (id) on delete cascade,
  constraint healthcare_shares_provider_fkey foreign key (recipient_provider_id)
    references app.providers (id) on delete set null,
  constraint healthcare_shares_scopes_valid check (
    cardinality(scopes) >= 1 and scopes <@ array['cycle', 'symptoms', 'mood', 'notes', 'prefs']::text[]),
  constraint healthcare_shares_envelope_shape check (shared_envelope is null or app.is_crypto_envelope(shared_envelope)),
  constraint healthcare_shares_status_valid check (status in ('active', 'paused', 'revoked', 'expired')),
  constraint healthcare_shares_revoked_consistent check ((status = 'revoked') = (revoked_at is not null)),
  constraint healthcare_shares_expiry_window check (expires_at > created_at and expires_at <= created_at + interval '1 year'),
  constraint healthcare_shares_label_length check (recipient_label is null or length(recipient_label) <= 200)
);

comment on table app.healthcare_shares is
  'What a user shares with a clinician (scopes), optionally a copy re-encrypted for the recipient, until expiry or revocation.';
comment on column app.healthcare_shares.recipient_label is 'PHI: how the user names the recipient (e.g. their gynaecologist).';
comment on column app.healthcare_shares.recipient_provider_id is 'PHI: the clinician the user shares with (reveals a care relationship).';
comment on column app.healthcare_shares.shared_envelope is 'PHI: shared data re-encrypted on the device for the recipient (ciphertext only).';

create index healthcare_shares_user_idx on app.healthcare_shares (user_id, status);
create index healthcare_shares_provider_idx on app.healthcare_shares (recipient_provider_id) where recipient_provider_id is not null;

alter table app.healthcare_shares enable row level security, force row level security;
create policy baseline_deny_all on app.healthcare_shares as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.healthcare_shares for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on app.healthcare_shares
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on app.healthcare_shares
  for each row execute function audit.log_change();

create table app.share_tokens (
  id           uuid        not null default gen_random_uuid(),
  share_id     uuid        not null,
  token_hash   bytea       not null,
  expires_at   timestamptz not null,
  max_uses     integer,
  use_count    integer     not null default 0,
  last_used_at timestamptz,
  revoked_at   timestamptz,
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now(),
  constraint share_tokens_pkey primary key (id),
  constraint share_tokens_hash_key unique (token_hash),
  constraint share_tokens_share_fkey foreign key (share_id) references app.healthcare_shares (id) on delete cascade,
  constraint share_tokens_hash_sha256 check (length(token_hash) = 32),
  constraint share_tokens_expiry_window check (expires_at > created_at and expires_at <= created_at + interval '90 days'),
  constraint share_tokens_max_uses_positive check (max_uses is null or max_uses > 0),
  constraint share_tokens_use_count_range check (use_count >= 0 and (max_uses is null or use_count <= max_uses))
);

comment on table app.share_tokens is
  'Bearer links to a healthcare share, stored only as sha256 (the token is shown once), with expiry (<= 90 days), use limit and revocation.';
comment on column app.share_tokens.token_hash is 'sha256 of the share token; the token itself is never stored.';

create index share_tokens_share_idx on app.share_tokens (share_id);
create index share_tokens_expires_idx on app.share_tokens (expires_at);

alter table app.share_tokens enable row level security, force row level security;
create policy baseline_deny_all on app.share_tokens as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.share_tokens for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on app.share_tokens
  for each row execute function app.set_updated_at();

-- ---------------------------------------------------------------------------------------------

create table app.device_keys (
  id              uuid        not null default gen_random_uuid(),
  user_id         uuid        not null,
  device_id_hash  bytea       not null,
  public_key      text        not null,
  key_algorithm   text        not null,
  key_fingerprint bytea       not null,
  status          text        not null default 'active',
  rotated_from_id uuid,
  rotated_at      timestamptz,
  revoked_at      timestamptz,
  last_seen_at    timestamptz,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  constraint device_keys_pkey primary key (id),
  constraint device_keys_fingerprint_key unique (key_fingerprint),
  constraint device_keys_user_fkey foreign key (user_id) references app.profiles (id) on delete cascade,
  constraint device_keys_rotated_from_fkey foreign key (rotated_from_id) references app.device_keys (id) on delete set null,
  constraint device_keys_device_hash_sha256 check (length(device_id_hash) = 32),
  constraint device_keys_fingerprint_sha256 check (length(key_fingerprint) = 32),
  constraint device_keys_public_key_format check (length(public_key) between 32 and 4096 and public_key !~ 'PRIVATE KEY'),
  constraint device_keys_algorithm_valid check (key_algorithm in ('ed25519', 'x25519', 'p256')),
  constraint device_keys_status_valid check (status in ('active', 'rotated', 'revoked')),
  constraint device_keys_rotated_consistent check ((status = 'rotated') = (rotated_at is not null)),
  constraint device_keys_revoked_consistent check ((status = 'revoked') = (revoked_at is not null))
);

comment on table app.device_keys is
  'Public keys of a user''s devices (never private keys), one active key per device, with rotation history (rotated_from_id).';
comment on column app.device_keys.device_id_hash is 'sha256 of user id and device id: devices are told apart without storing their identifiers.';
comment on column app.device_keys.key_fingerprint is 'sha256 of the public key.';

create unique index device_keys_one_active_per_device on app.device_keys (user_id, device_id_hash) where status = 'active';
create index device_keys_rotated_from_idx on app.device_keys (rotated_from_id) where rotated_from_id is not null;

alter table app.device_keys enable row level security, force row level security;
create policy baseline_deny_all on app.device_keys as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.device_keys for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on app.device_keys
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on app.device_keys
  for each row execute function audit.log_change();

-- 20261122004_field_encryption.sql
-- What: the registry of PHI data keys and the format of a field ciphertext.
--   * app.encryption_keys  one row per data-key version: the KMS key that wraps it (ARN), status
--                          active/rotating/retired, rotation dates, and a FINGERPRINT of the key
--                          (sha256 with a domain prefix) so the database can tell which version a
--                          supplied key is. The data key itself is never stored: the application
--                          unwraps it with KMS and supplies it per transaction with
--                          set_config('phi.data_key', $1, true) (see sql/functions/010_phi_encryption.sql).
--   * app.phi_ciphertext_key_version(bytea)  reads the key version from a ciphertext:
--                          ciphertext = 0x01 (format) || int4 key version || pgp_sym_encrypt output.
--                          Encrypted columns carry a CHECK using it, so plaintext bytes can never be
--                          written into them by mistake.
-- Why: the seeds passed the key as a SQL literal (pgp_sym_encrypt(data, 'key')) or looked it up from
-- a table; a literal ends up in logs, pg_stat_activity and the repository, a stored key sits next to
-- the data it protects.

create or replace function app.phi_ciphertext_key_version(p_ciphertext bytea)
returns integer
language sql
immutable
strict
set search_path = ''
as $fn$
  select case
           when length(p_ciphertext) > 5 and get_byte(p_ciphertext, 0) = 1
             then (get_byte(p_ciphertext, 1) << 24) | (get_byte(p_ciphertext, 2) << 16)
                | (get_byte(p_ciphertext, 3) << 8)  |  get_byte(p_ciphertext, 4)
         end
$fn$;

comment on function app.phi_ciphertext_key_version(bytea) is
  'Key version of a PHI field ciphertext (format byte 0x01, int4 version, PGP message); NULL when the value is not in that format.';

create table app.encryption_keys (
  id                  uuid        not null default gen_random_uuid(),
  key_version         integer     not null,
  kms_key_arn         text        not null,
  key_fingerprint     bytea       not null,
  status              text        not null default 'active',
  activated_at        timestamptz not null default now(),
  rotation_started_at timestamptz,
  rotation_due_at     timestamptz,
  retired_at          timestamptz,
  metadata            jsonb       not null default '{}',
  created_at          timestamptz not null default now(),
  updated_at          timestamptz not null default now(),
  constraint encryption_keys_pkey primary key (id),
  constraint encryption_keys_version_key unique (key_version),
  constraint encryption_keys_fingerprint_key unique (key_fingerprint),
  constraint encryption_keys_version_positive check (key_version > 0),
  constraint encryption_keys_status_valid check (status in ('active', 'rotating', 'retired')),
  constraint encryption_keys_kms_arn_format check (
    kms_key_arn ~ '^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/[A-Za-z0-9/_-]+$'
    or kms_key_arn ~ '^local:[a-z0-9_-]+$'),
  constraint encryption_keys_fingerprint_sha256 check (length(key_fingerprint) = 32),
  constraint encryption_keys_retired_has_date check ((status = 'retired') = (retired_at is not null)),
  constraint encryption_keys_rotating_has_date check (status <> 'rotating' or rotation_started_at is not null),
  constraint encryption_keys_metadata_object check (jsonb_typeof(metadata) = 'object')
);

comment on table app.encryption_keys is
  'Registry of PHI data-key versions (KMS ARN, status, rotation dates, fingerprint). Never holds key material: the key is supplied per transaction in setting phi.data_key.';
comment on column app.encryption_keys.key_fingerprint is 'sha256(''phi-db:data-key:v1:'' || key): identifies which version a supplied key is; not reversible for a 256-bit random key.';
comment on column app.encryption_keys.kms_key_arn is 'ARN of the KMS key that wraps this data key (local:<name> for local/dev keys).';
comment on column app.encryption_keys.status is 'active: encrypts and decrypts (exactly one); rotating: decrypts only while app.reencrypt_phi_batch moves rows to the active key; retired: no ciphertext left.';

create unique index encryption_keys_one_active on app.encryption_keys ((true)) where status = 'active';

alter table app.encryption_keys enable row level security, force row level security;
create policy baseline_deny_all on app.encryption_keys as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.encryption_keys for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on app.encryption_keys
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on app.encryption_keys
  for each row execute function audit.log_change();

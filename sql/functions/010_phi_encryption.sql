-- functions/010_phi_encryption.sql
-- What: field-level encryption of PHI with pgcrypto (schema extensions), keyed by a data key the
-- APPLICATION supplies per transaction:
--     select set_config('phi.data_key', $1, true);            -- bind parameter, transaction-local
--     select set_config('phi.data_key_previous', $2, true);   -- only while a rotation is running
-- The key is never stored, never a SQL literal in this repository, and never logged by these
-- functions (errors name key VERSIONS, never key material). Ciphertext format:
--     0x01 || int4 key version || pgp_sym_encrypt(plaintext, key, 'cipher-algo=aes256, s2k-mode=1')
-- (PGP symmetric encryption with an integrity check (MDC); s2k-mode=1 because the data key is 256
-- random bits, not a passphrase, so iterated key stretching would only cost time.)
-- Functions:
--   app.phi_key_fingerprint(text)          sha256 fingerprint of a key (domain-separated).
--   app.phi_supplied_key(setting)          which registered version the key in a setting is.
--   app.encrypt_phi(text) / app.decrypt_phi(bytea)
--   app.register_phi_key(kms_arn, due)     registers the key in phi.data_key as the new ACTIVE
--                                          version; the previous active one becomes 'rotating'.
--   app.phi_encrypted_columns()            every encrypted column (bytea named *_encrypted).
--   app.reencrypt_phi_batch(table, after, limit)  re-encrypts one keyset batch to the active key.
--   app.finish_phi_key_rotation()          retires 'rotating' keys once no ciphertext uses them.
-- Who may run what: encrypt/decrypt are SECURITY INVOKER (whoever holds the key and may read the
-- row); registration and rotation are SECURITY INVOKER too and only work with the owner's row
-- access (operators/jobs run them after SET ROLE phi_owner).
-- Operations must keep the key out of server logs: use bind parameters, and set the parameter
-- group's log_parameter_max_length = 0 (and pgaudit.log_parameter = off).

create or replace function app.phi_key_fingerprint(p_key text)
returns bytea
language sql
immutable
strict
set search_path = ''
as $fn$
  select sha256(convert_to('phi-db:data-key:v1:' || p_key, 'UTF8'))
$fn$;

comment on function app.phi_key_fingerprint(text) is 'Fingerprint of a data key as stored in app.encryption_keys.key_fingerprint.';

create or replace function app.phi_supplied_key(p_setting text)
returns table (key_version integer, status text)
language plpgsql
stable
security definer
set search_path = ''
as $fn$
declare
  v_key text;
begin
  if p_setting not in ('phi.data_key', 'phi.data_key_previous') then
    raise exception 'unknown key setting %', p_setting using errcode = 'invalid_parameter_value';
  end if;
  v_key := nullif(current_setting(p_setting, true), '');
  if v_key is null then
    return;
  end if;
  return query
    select k.key_version, k.status
      from app.encryption_keys k
     where k.key_fingerprint = app.phi_key_fingerprint(v_key);
end
$fn$;

comment on function app.phi_supplied_key(text) is
  'Version and status of the registered key supplied in setting phi.data_key or phi.data_key_previous; no row when unset or unknown. Reveals no key material.';

create or replace function app.encrypt_phi(p_plaintext text)
returns bytea
language plpgsql
volatile
set search_path = ''
as $fn$
declare
  v_key     text := nullif(current_setting('phi.data_key', true), '');
  v_version integer;
  v_status  text;
begin
  if p_plaintext is null then
    return null;
  end if;
  if v_key is null then
    raise exception 'PHI data key not supplied'
      using errcode = 'PHK01',
            hint = 'The application sets it per transaction: select set_config(''phi.data_key'', $1, true).';
  end if;
  select s.key_version, s.status into v_version, v_status from app.phi_supplied_key('phi.data_key') s;
  if v_version is null then
    raise exception 'the data key in phi.data_key is not registered in app.encryption_keys'
      using errcode = 'PHK02', hint = 'Register it with app.register_phi_key(kms_key_arn) or supply the right key.';
  end if;
  if v_status <> 'active' then
    raise exception 'the data key in phi.data_key is version % (%), not the active key', v_version, v_status
      using errcode = 'PHK03', hint = 'Encrypt with the active key; older keys only decrypt while a rotation runs.';
  end if;
  return '\x01'::bytea || int4send(v_version)
         || extensions.pgp_sym_encrypt(p_plaintext, v_key, 'cipher-algo=aes256, s2k-mode=1');
end
$fn$;

comment on function app.encrypt_phi(text) is
  'Encrypts a PHI value with the active data key supplied in phi.data_key (never stored). Output: 0x01 || int4 key version || PGP message. NULL stays NULL. SQLSTATE PHK01-03 when the key is missing/unknown/not active.';

create or replace function app.decrypt_phi(p_ciphertext bytea)
returns text
language plpgsql
stable
set search_path = ''
as $fn$
declare
  v_version integer;
  v_setting text;
  v_key     text;
begin
  if p_ciphertext is null then
    return null;
  end if;
  v_version := app.phi_ciphertext_key_version(p_ciphertext);
  if v_version is null then
    raise exception 'value is not a PHI ciphertext' using errcode = 'PHK04';
  end if;
  foreach v_setting in array array['phi.data_key', 'phi.data_key_previous'] loop
    v_key := nullif(current_setting(v_setting, true), '');
    if v_key is not null and exists (select from app.phi_supplied_key(v_setting) s where s.key_version = v_version) then
      return extensions.pgp_sym_decrypt(substring(p_ciphertext from 6), v_key);
    end if;
  end loop;
  raise exception 'the data key for key version % was not supplied', v_version
    using errcode = 'PHK01',
          hint = 'Set phi.data_key (or, during a rotation, phi.data_key_previous) for this transaction.';
end
$fn$;

comment on function app.decrypt_phi(bytea) is
  'Decrypts a value made by app.encrypt_phi with whichever supplied key (phi.data_key / phi.data_key_previous) matches its key version; raises PHK01 when that key was not supplied.';

create or replace function app.register_phi_key(p_kms_key_arn text, p_rotation_due_at timestamptz default null)
returns integer
language plpgsql
volatile
set search_path = ''
as $fn$
declare
  v_key      text := nullif(current_setting('phi.data_key', true), '');
  v_existing integer;
  v_version  integer;
begin
  if v_key is null then
    raise exception 'PHI data key not supplied' using errcode = 'PHK01',
      hint = 'Set the new key first: select set_config(''phi.data_key'', $1, true).';
  end if;
  if length(v_key) < 32 then
    raise exception 'a data key must be at least 32 characters (e.g. base64 of 32 random bytes)' using errcode = 'PHK02';
  end if;
  select k.key_version into v_existing from app.encryption_keys k where k.key_fingerprint = app.phi_key_fingerprint(v_key);
  if v_existing is not null then
    raise exception 'this data key is already registered as version %', v_existing using errcode = 'PHK02';
  end if;

  select coalesce(max(k.key_version), 0) + 1 into v_version from app.encryption_keys k;
  update app.encryption_keys k
     set status = 'rotating', rotation_started_at = now()
   where k.status = 'active';
  insert into app.encryption_keys (key_version, kms_key_arn, key_fingerprint, status, activated_at, rotation_due_at)
  values (v_version, p_kms_key_arn, app.phi_key_fingerprint(v_key), 'active', now(), p_rotation_due_at);
  perform audit.record_security_event('phi_key_registered', 'info', jsonb_build_object('key_version', v_version));
  return v_version;
end
$fn$;

comment on function app.register_phi_key(text, timestamptz) is
  'Registers the key supplied in phi.data_key as the new active version (fingerprint only) and moves the previous active key to rotating. Run as the owner.';

create or replace function app.phi_encrypted_columns()
returns table (table_name regclass, column_name name)
language sql
stable
set search_path = ''
as $fn$
  select c.oid::regclass, a.attname
    from pg_catalog.pg_attribute a
    join pg_catalog.pg_class c on c.oid = a.attrelid
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   where n.nspname in ('app', 'tenant', 'storage_meta', 'cache', 'logs', 'analytics')
     and c.relkind in ('r', 'p')
     and not c.relispartition
     and a.attnum > 0
     and not a.attisdropped
     and a.atttypid = 'pg_catalog.bytea'::pg_catalog.regtype
     and a.attname like '%\_encrypted'
   order by 1, 2
$fn$;

comment on function app.phi_encrypted_columns() is
  'Every field-encrypted column (bytea named *_encrypted in the managed schemas): what key rotation must re-encrypt.';

create or replace function app.reencrypt_phi_batch(p_table regclass, p_after uuid default null, p_limit integer default 500)
returns table (scanned integer, reencrypted integer, last_id uuid)
language plpgsql
volatile
set search_path = ''
as $fn$
declare
  v_active integer;
  v_set    text;
  v_need   text;
begin
  select k.key_version into v_active from app.encryption_keys k where k.status = 'active';
  if v_active is null then
    raise exception 'no active PHI data key is registered' using errcode = 'PHK02';
  end if;
  if p_limit is null or p_limit < 1 or p_limit > 100000 then
    raise exception 'batch size must be between 1 and 100000' using errcode = 'invalid_parameter_value';
  end if;
  select string_agg(format('%1$I = case when %1$I is not null and app.phi_ciphertext_key_version(%1$I) <> $3 '
                           'then app.encrypt_phi(app.decrypt_phi(%1$I)) else %1$I end', e.column_name), ', '),
         string_agg(format('(%1$I is not null and app.phi_ciphertext_key_version(%1$I) <> $3)', e.column_name), ' or ')
    into v_set, v_need
    from app.phi_encrypted_columns() e
   where e.table_name = p_table;
  if v_set is null then
    raise exception '% has no encrypted columns', p_table using errcode = 'invalid_parameter_value';
  end if;

  -- Keyset batch over the primary key: O(total rows) over all batches, each batch its own
  -- transaction when the caller commits between calls.
  return query execute format(
    'with batch as (
       select t.id from %1$s t where ($1::uuid is null or t.id > $1) order by t.id limit $2
     ), changed as (
       update %1$s t set %2$s from batch b where t.id = b.id and (%3$s) returning t.id
     )
     select (select count(*) from batch)::integer,
            (select count(*) from changed)::integer,
            (select b.id from batch b order by b.id desc limit 1)',
    p_table, v_set, v_need)
    using p_after, p_limit, v_active;
end
$fn$;

comment on function app.reencrypt_phi_batch(regclass, uuid, integer) is
  'Re-encrypts, with the active key, the encrypted columns of up to p_limit rows of p_table after id p_after (keyset). Needs phi.data_key = active key and phi.data_key_previous = the key being retired. Call until scanned < p_limit, committing between batches.';

create or replace function app.finish_phi_key_rotation()
returns integer
language plpgsql
volatile
set search_path = ''
as $fn$
declare
  v_active  integer;
  v_col     record;
  v_left    bigint;
  v_pending text := '';
  v_retired integer;
begin
  select k.key_version into v_active from app.encryption_keys k where k.status = 'active';
  if v_active is null then
    raise exception 'no active PHI data key is registered' using errcode = 'PHK02';
  end if;
  for v_col in select * from app.phi_encrypted_columns() loop
    execute format('select count(*) from %s where %I is not null and app.phi_ciphertext_key_version(%I) <> $1',
                   v_col.table_name, v_col.column_name, v_col.column_name)
      into v_left using v_active;
    if v_left > 0 then
      v_pending := v_pending || format('%s.%s: %s; ', v_col.table_name, v_col.column_name, v_left);
    end if;
  end loop;
  if v_pending <> '' then
    raise exception 'rotation not finished: values still encrypted with an older key'
      using errcode = 'PHK05', detail = v_pending, hint = 'Run app.reencrypt_phi_batch over those tables first.';
  end if;
  update app.encryption_keys k
     set status = 'retired', retired_at = now()
   where k.status = 'rotating';
  get diagnostics v_retired = row_count;
  perform audit.record_security_event('phi_key_rotation_finished', 'info',
                                      jsonb_build_object('active_version', v_active, 'retired', v_retired));
  return v_retired;
end
$fn$;

comment on function app.finish_phi_key_rotation() is
  'Retires the rotating key(s) once no encrypted column holds a value of a non-active version (else raises PHK05 listing what is left).';

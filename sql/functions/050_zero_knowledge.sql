-- functions/050_zero_knowledge.sql
-- What: the cycle tracker's RPC functions (from its migration framework's 20250909003_rpc_functions):
--   app.update_cycle_data_optimistic(id, expected_version, envelope)
--       compare-and-set on app.encrypted_cycle_data.version: succeeds only when the stored version
--       is the one the device read; otherwise raises SQLSTATE PT409 ("version conflict", HTTP 409
--       through PostgREST) with the current version in DETAIL, so the device merges and retries.
--   app.create_share_token(share, valid_for, max_uses)  the share owner mints a bearer link; only
--       its sha256 is stored, the token is returned once.
--   auth.validate_share_token(token)  anonymous recipients redeem a link: hash lookup, expiry,
--       revocation, use limit, per-IP failure throttling; every outcome lands in audit.share_audit or
--       audit.security_events (hashed IP). In schema auth so that anon may execute it.
--   app.healthcare_access_audit(share, action, details, token)  records a recipient's view/export
--       of shared data (privacy-safe), for the owner or the recipient provider, or a token holder.
--   app.rotate_device_key(device_id, public_key, algorithm)  replaces a device's active public key,
--       keeping the chain (rotated_from_id) and logging a security event.
-- All are SECURITY DEFINER with the caller identified by auth.uid(); a missing identity is
-- SQLSTATE 42501. Device ids are never stored in clear (per-user sha256; privacy hash in logs).

create or replace function app.update_cycle_data_optimistic(p_id uuid, p_expected_version bigint, p_envelope jsonb)
returns table (id uuid, version bigint, updated_at timestamptz)
language plpgsql
volatile
security definer
set search_path = ''
as $fn$
#variable_conflict use_column
declare
  v_uid     uuid := auth.uid();
  v_current bigint;
  v_updated timestamptz;
  v_deleted timestamptz;
begin
  if v_uid is null then
    raise exception 'authentication required' using errcode = 'insufficient_privilege';
  end if;
  update app.encrypted_cycle_data c
     set envelope = p_envelope, version = c.version + 1
   where c.id = p_id and c.user_id = v_uid and c.version = p_expected_version and c.deleted_at is null
  returning c.version, c.updated_at into v_current, v_updated;
  if found then
    return query select p_id, v_current, v_updated;
    return;
  end if;

  select c.version, c.deleted_at into v_current, v_deleted
    from app.encrypted_cycle_data c where c.id = p_id and c.user_id = v_uid;
  if v_current is null then
    raise exception 'cycle data record % not found', p_id using errcode = 'no_data_found';
  end if;
  raise exception 'version conflict on cycle data record %', p_id
    using errcode = 'PT409',
          detail = case when v_deleted is not null
                        then format('the record was deleted at version %s', v_current)
                        else format('expected version %s, current version %s', p_expected_version, v_current) end,
          hint = 'Fetch the current envelope, merge on the device, and retry with the current version.';
end
$fn$;

comment on function app.update_cycle_data_optimistic(uuid, bigint, jsonb) is
  'Optimistic-concurrency update of the caller''s encrypted cycle record: writes only if version = p_expected_version (then version + 1); else SQLSTATE PT409 (version conflict) with the current version in DETAIL.';

create or replace function app.create_share_token(p_share_id uuid, p_valid_for interval default interval '7 days', p_max_uses integer default null)
returns table (share_token_id uuid, token text, expires_at timestamptz)
language plpgsql
volatile
security definer
set search_path = ''
as $fn$
declare
  v_uid     uuid := auth.uid();
  v_share   app.healthcare_shares;
  v_token   text;
  v_expires timestamptz;
  v_id      uuid;
begin
  if v_uid is null then
    raise exception 'authentication required' using errcode = 'insufficient_privilege';
  end if;
  select s.* into v_share from app.healthcare_shares s where s.id = p_share_id and s.user_id = v_uid;
  if v_share.id is null then
    raise exception 'share % not found', p_share_id using errcode = 'no_data_found';
  end if;
  if v_share.status <> 'active' or v_share.expires_at <= now() then
    raise exception 'share % is not active', p_share_id using errcode = 'object_not_in_prerequisite_state';
  end if;
  if p_valid_for is null or p_valid_for <= interval '0' or p_valid_for > interval '90 days' then
    raise exception 'a share token is valid for more than 0 and at most 90 days' using errcode = 'invalid_parameter_value';
  end if;
  v_expires := least(now() + p_valid_for, v_share.expires_at);
  v_token := 'phs_' || rtrim(translate(encode(uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()), 'base64'), '+/', '-_'), '=');
  insert into app.share_tokens (share_id, token_hash, expires_at, max_uses)
  values (p_share_id, sha256(convert_to(v_token, 'UTF8')), v_expires, p_max_uses)
  returning app.share_tokens.id into v_id;
  perform audit.record_share_access(p_share_id, v_uid, 'token_created', 'owner', jsonb_build_object('share_token_id', v_id));
  return query select v_id, v_token, v_expires;
end
$fn$;

comment on function app.create_share_token(uuid, interval, integer) is
  'The owner of an active share mints a bearer token for it (returned once; only its sha256 is stored), valid until min(now + p_valid_for, share expiry), optionally limited to p_max_uses.';

create or replace function auth.validate_share_token(p_token text)
returns table (
  valid           boolean,
  reason          text,
  share_id        uuid,
  owner_user_id   uuid,
  scopes          text[],
  shared_envelope jsonb,
  expires_at      timestamptz)
language plpgsql
volatile
security definer
set search_path = ''
as $fn$
#variable_conflict use_column
declare
  v_ip_hash  bytea := audit.privacy_hash(host(auth.client_ip()));
  v_failures integer;
  v_token    app.share_tokens;
  v_share    app.healthcare_shares;
  v_reason   text;
begin
  -- Throttle guessing: at most 20 invalid tokens per hashed IP in 10 minutes.
  if v_ip_hash is not null then
    select count(*) into v_failures
      from audit.security_events e
     where e.ip_hash = v_ip_hash and e.event_type = 'share_token_invalid' and e.occurred_at > clock_timestamp() - interval '10 minutes';
    if v_failures >= 20 then
      perform audit.record_security_event('share_token_rate_limited', 'warning', '{}'::jsonb);
      return query select false, 'rate_limited'::text, null::uuid, null::uuid, null::text[], null::jsonb, null::timestamptz;
      return;
    end if;
  end if;

  if p_token is not null and p_token ~ '^phs_[A-Za-z0-9_-]{40,64}$' then
    select t.* into v_token from app.share_tokens t where t.token_hash = sha256(convert_to(p_token, 'UTF8')) for update;
  end if;
  if v_token.id is null then
    perform audit.record_security_event('share_token_invalid', 'warning', '{}'::jsonb);
    return query select false, 'invalid'::text, null::uuid, null::uuid, null::text[], null::jsonb, null::timestamptz;
    return;
  end if;

  select s.* into v_share from app.healthcare_shares s where s.id = v_token.share_id;
  v_reason := case
    when v_token.revoked_at is not null or v_share.status = 'revoked' then 'revoked'
    when v_token.expires_at <= now() or v_share.expires_at <= now() or v_share.status = 'expired' then 'expired'
    when v_share.status = 'paused' then 'paused'
    when v_token.max_uses is not null and v_token.use_count >= v_token.max_uses then 'exhausted'
    else 'valid' end;

  if v_reason <> 'valid' then
    perform audit.record_share_access(v_share.id, v_share.user_id, 'token_rejected', 'token_holder',
                                      jsonb_build_object('reason', v_reason, 'share_token_id', v_token.id));
    return query select false, v_reason, v_share.id, null::uuid, null::text[], null::jsonb, null::timestamptz;
    return;
  end if;

  update app.share_tokens t set use_count = t.use_count + 1, last_used_at = now() where t.id = v_token.id;
  perform audit.record_share_access(v_share.id, v_share.user_id, 'token_validated', 'token_holder',
                                    jsonb_build_object('share_token_id', v_token.id, 'use', v_token.use_count + 1));
  return query select true, 'valid'::text, v_share.id, v_share.user_id, v_share.scopes, v_share.shared_envelope, v_token.expires_at;
end
$fn$;

comment on function auth.validate_share_token(text) is
  'Redeems a healthcare share token: (valid, reason, share, owner, scopes, shared envelope, expiry). Reasons: valid, invalid, revoked, expired, paused, exhausted, rate_limited. Every call is audited (hashed IP).';

create or replace function app.healthcare_access_audit(
  p_share_id uuid,
  p_action   text,
  p_details  jsonb default '{}',
  p_token    text default null)
returns uuid
language plpgsql
volatile
security definer
set search_path = ''
as $fn$
declare
  v_uid   uuid := auth.uid();
  v_share app.healthcare_shares;
  v_kind  text;
begin
  if p_action not in ('data_viewed', 'data_exported', 'data_downloaded') then
    raise exception 'unknown share access action %', p_action using errcode = 'invalid_parameter_value';
  end if;
  select s.* into v_share from app.healthcare_shares s where s.id = p_share_id;
  if v_share.id is not null then
    if v_uid is not null and v_uid = v_share.user_id then
      v_kind := 'owner';
    elsif v_uid is not null and exists (
        select from app.providers p where p.id = v_share.recipient_provider_id and p.profile_id = v_uid) then
      v_kind := 'provider';
    elsif p_token is not null and exists (
        select from app.share_tokens t
         where t.share_id = p_share_id and t.token_hash = sha256(convert_to(p_token, 'UTF8'))
           and t.revoked_at is null and t.expires_at > now()) then
      v_kind := 'token_holder';
    end if;
  end if;
  if v_kind is null then
    raise exception 'not allowed to record access to share %', p_share_id using errcode = 'insufficient_privilege';
  end if;
  return audit.record_share_access(p_share_id, v_share.user_id, p_action, v_kind, coalesce(p_details, '{}'::jsonb));
end
$fn$;

comment on function app.healthcare_access_audit(uuid, text, jsonb, text) is
  'Records a view/export/download of shared data in audit.share_audit (privacy-safe). Allowed for the share owner, the recipient provider, or a holder of a valid token of that share.';

create or replace function app.rotate_device_key(p_device_id text, p_public_key text, p_key_algorithm text)
returns uuid
language plpgsql
volatile
security definer
set search_path = ''
as $fn$
declare
  v_uid    uuid := auth.uid();
  v_hash   bytea;
  v_old_id uuid;
  v_new_id uuid;
begin
  if v_uid is null then
    raise exception 'authentication required' using errcode = 'insufficient_privilege';
  end if;
  if p_device_id is null or length(p_device_id) not between 8 and 200 then
    raise exception 'device id must be 8 to 200 characters' using errcode = 'invalid_parameter_value';
  end if;
  v_hash := sha256(convert_to('phi-db:device:' || v_uid::text || ':' || p_device_id, 'UTF8'));

  select k.id into v_old_id
    from app.device_keys k
   where k.user_id = v_uid and k.device_id_hash = v_hash and k.status = 'active'
   for update;
  if v_old_id is not null then
    update app.device_keys k set status = 'rotated', rotated_at = now() where k.id = v_old_id;
  end if;
  insert into app.device_keys (user_id, device_id_hash, public_key, key_algorithm, key_fingerprint, rotated_from_id)
  values (v_uid, v_hash, p_public_key, p_key_algorithm, sha256(convert_to(p_public_key, 'UTF8')), v_old_id)
  returning app.device_keys.id into v_new_id;

  perform audit.record_security_event(
    case when v_old_id is null then 'device_key_registered' else 'device_key_rotated' end, 'info',
    jsonb_build_object('device_key_id', v_new_id, 'rotated_from_id', v_old_id), null, p_device_id);
  return v_new_id;
end
$fn$;

comment on function app.rotate_device_key(text, text, text) is
  'Registers or rotates the caller''s public key for a device: the active key becomes rotated, the new one active with rotated_from_id; logged as a security event with the device id hashed.';

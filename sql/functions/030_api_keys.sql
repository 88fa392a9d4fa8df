-- functions/030_api_keys.sql
-- What: the life cycle of organization API keys, which are stored only as sha256 + lookup prefix.
--   tenant.create_api_key(org, name, scopes, expires_at, rate_limit)
--       generates a key 'phk_<12 hex prefix>_<43 chars base64url>' (256 random bits from
--       gen_random_uuid, the server's strong random source), stores prefix + sha256, returns the
--       key ONCE. For organization admins/developers, service_role and the owner.
--   auth.verify_api_key(key, required_scope)
--       finds the key by prefix, compares sha256, checks revocation, expiry, scope and the per-key
--       rate limit (valid uses in the last minute), writes the usage trail, and answers
--       (valid, reason, key id, organization, scopes). In schema auth because the API gateway calls
--       it before it knows who the caller is (anon and service_role may execute auth functions).
--       Unknown or wrong keys are reported as 'unknown' (no hint whether the prefix exists) and
--       recorded as privacy-safe security events.
--   tenant.revoke_api_key(id, reason)
-- Why: the seed stored api_keys.key in plain text.

create or replace function tenant.create_api_key(
  p_organization_id       uuid,
  p_name                  text,
  p_scopes                text[],
  p_expires_at            timestamptz default null,
  p_rate_limit_per_minute integer default null)
returns table (api_key_id uuid, api_key text, key_prefix text)
language plpgsql
volatile
security definer
set search_path = ''
as $fn$
declare
  v_org    tenant.organizations;
  v_active integer;
  v_prefix text;
  v_key    text;
  v_id     uuid;
begin
  if not tenant.caller_may_manage(p_organization_id, array['admin', 'developer']) then
    raise exception 'not allowed to create API keys for organization %', p_organization_id
      using errcode = 'insufficient_privilege';
  end if;
  select o.* into v_org from tenant.organizations o where o.id = p_organization_id;
  if not found then
    raise exception 'organization % does not exist', p_organization_id using errcode = 'no_data_found';
  end if;
  select count(*) into v_active
    from tenant.api_keys k
   where k.organization_id = p_organization_id and k.revoked_at is null and (k.expires_at is null or k.expires_at > now());
  if v_active >= v_org.max_api_keys then
    raise exception 'organization % already has % active API keys (quota %)', v_org.slug, v_active, v_org.max_api_keys
      using errcode = 'PHQ01', hint = 'Revoke an unused key or raise tenant.organizations.max_api_keys.';
  end if;

  v_prefix := 'phk_' || left(encode(uuid_send(gen_random_uuid()), 'hex'), 12);
  v_key := v_prefix || '_'
           || rtrim(translate(encode(uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()), 'base64'), '+/', '-_'), '=');

  insert into tenant.api_keys (organization_id, name, key_prefix, key_hash, scopes, rate_limit_per_minute, expires_at, created_by)
  values (p_organization_id, p_name, v_prefix, sha256(convert_to(v_key, 'UTF8')), p_scopes,
          coalesce(p_rate_limit_per_minute, v_org.api_rate_limit_per_minute), p_expires_at, auth.uid())
  returning id into v_id;

  perform audit.record_security_event('api_key_created', 'info',
    jsonb_build_object('api_key_id', v_id, 'key_prefix', v_prefix, 'scopes', p_scopes), p_organization_id);
  return query select v_id, v_key, v_prefix;
end
$fn$;

comment on function tenant.create_api_key(uuid, text, text[], timestamptz, integer) is
  'Creates an organization API key and returns it once; only its sha256 and public prefix are stored. For admins/developers of the organization, service_role and the owner.';

create or replace function auth.verify_api_key(p_api_key text, p_required_scope text default null)
returns table (
  valid                 boolean,
  reason                text,
  api_key_id            uuid,
  organization_id       uuid,
  scopes                text[],
  rate_limit_per_minute integer)
language plpgsql
volatile
security definer
set search_path = ''
as $fn$
#variable_conflict use_column
declare
  v_prefix  text := substring(p_api_key from '^(phk_[0-9a-f]{12})_');
  v_key     tenant.api_keys;
  v_outcome text;
  v_recent  integer;
begin
  if v_prefix is not null then
    select k.* into v_key from tenant.api_keys k where k.key_prefix = v_prefix;
  end if;
  if v_key.id is null or v_key.key_hash <> sha256(convert_to(p_api_key, 'UTF8')) then
    perform audit.record_security_event('api_key_rejected', 'warning',
      jsonb_build_object('reason', case when v_prefix is null then 'malformed' else 'unknown' end), v_key.organization_id);
    return query select false, 'unknown'::text, null::uuid, null::uuid, null::text[], null::integer;
    return;
  end if;

  if v_key.revoked_at is not null then
    v_outcome := 'revoked';
  elsif v_key.expires_at is not null and v_key.expires_at <= now() then
    v_outcome := 'expired';
  elsif p_required_scope is not null and not (p_required_scope = any (v_key.scopes) or 'admin' = any (v_key.scopes)) then
    v_outcome := 'scope_denied';
  else
    select count(*) into v_recent
      from tenant.api_key_usage u
     where u.api_key_id = v_key.id and u.outcome = 'valid' and u.used_at > clock_timestamp() - interval '1 minute';
    v_outcome := case when v_recent >= v_key.rate_limit_per_minute then 'rate_limited' else 'valid' end;
  end if;

  insert into tenant.api_key_usage (api_key_id, organization_id, outcome, scope_requested, ip_hash)
  values (v_key.id, v_key.organization_id, v_outcome, p_required_scope, audit.privacy_hash(host(auth.client_ip())));

  if v_outcome = 'valid' then
    -- At most one write per key and minute on the key row itself (hot keys would contend).
    update tenant.api_keys k set last_used_at = now()
     where k.id = v_key.id and (k.last_used_at is null or k.last_used_at < now() - interval '1 minute');
  else
    perform audit.record_security_event(
      case when v_outcome = 'rate_limited' then 'api_key_rate_limited' else 'api_key_rejected' end, 'warning',
      jsonb_build_object('reason', v_outcome, 'api_key_id', v_key.id), v_key.organization_id);
  end if;

  return query select v_outcome = 'valid', v_outcome, v_key.id, v_key.organization_id, v_key.scopes, v_key.rate_limit_per_minute;
end
$fn$;

comment on function auth.verify_api_key(text, text) is
  'Checks an API key (sha256 against the stored hash, revocation, expiry, scope, per-key rate limit), records the use, and returns (valid, reason, key id, organization, scopes, rate limit). Reasons: valid, unknown, revoked, expired, scope_denied, rate_limited.';

create or replace function tenant.revoke_api_key(p_api_key_id uuid, p_reason text)
returns boolean
language plpgsql
volatile
security definer
set search_path = ''
as $fn$
declare
  v_org uuid;
begin
  select k.organization_id into v_org from tenant.api_keys k where k.id = p_api_key_id;
  if v_org is null or not tenant.caller_may_manage(v_org, array['admin', 'developer']) then
    raise exception 'API key % not found or not yours to revoke', p_api_key_id using errcode = 'insufficient_privilege';
  end if;
  update tenant.api_keys k
     set revoked_at = now(), revoked_by = auth.uid(), revoked_reason = coalesce(nullif(btrim(p_reason), ''), 'revoked')
   where k.id = p_api_key_id and k.revoked_at is null;
  if not found then
    return false;
  end if;
  perform audit.record_security_event('api_key_revoked', 'info', jsonb_build_object('api_key_id', p_api_key_id), v_org);
  return true;
end
$fn$;

comment on function tenant.revoke_api_key(uuid, text) is 'Revokes an API key (idempotent: false when it was already revoked). For admins/developers of its organization, service_role and the owner.';

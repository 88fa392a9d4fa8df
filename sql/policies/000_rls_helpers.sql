-- policies/000_rls_helpers.sql
-- What: the helper functions every row-level security policy calls, and the partition sync.
--   Membership helpers (SECURITY DEFINER, search_path pinned, STABLE): each answers one question about
--   the CALLER only (auth.uid() from request.jwt.claims) and returns an array of ids, never rows of
--   other people. Policies call them as `col = any ((select helper())::uuid[])`, so PostgreSQL evaluates each
--   helper once per statement (an InitPlan) instead of once per row, and the comparison can use the
--   index on `col`.
--     tenant.rls_org_ids(types)            organizations where the caller is an ACTIVE member (of the
--                                          given user types; NULL = any type)
--     tenant.rls_admin_member_ids()        people who are members of an organization the caller administers
--     app.rls_patient_ids()                the caller's own patient records (patients.profile_id)
--     app.rls_provider_ids()               the caller's own ACTIVE provider records (provider or admin
--                                          membership active in that organization)
--     app.rls_treated_patient_ids()        patients the caller treats: an appointment (not cancelled)
--                                          with one of the caller's provider records
--     app.rls_psychotherapy_consent_patient_ids()  patients who consented (psychotherapy_notes_access,
--                                          granted_to = caller, not revoked, not expired)
--     app.rls_crisis_patient_ids()         patients covered by the caller's valid break-glass grants (one
--                                          patient, or every patient of the organization for an
--                                          organization-wide grant); app.rls_crisis_org_ids() the latter's organizations
--     app.rls_admin_provider_ids()         provider records of the organizations the caller administers
--     app.rls_own_ai_session_ids(), app.rls_shared_ai_session_ids(), app.rls_own_share_ids(),
--     app.rls_own_order_ids()               ownership through a parent row (no policy recursion)
--     tenant.rls_token_user_id(table, id)  the person a stored OAuth token (access or refresh) belongs
--                                          to, if the caller is that person or administers its
--                                          organization (else NULL): a token never changes hands
--     app.rls_request_context_allowed()    the optional IP allow-list / business-hours switches
--                                          (tenant.instance_settings keys security.ip_allowlist and
--                                          security.business_hours), used by RESTRICTIVE policies
--   How they are written (measured with bench/rls.js): PL/pgSQL, so the one query each runs is planned
--   once per connection; auth.uid() read ONCE into a variable and passed to that query as a parameter
--   (a sub-select of auth.uid() inside the query made each call ~2x slower); no caller -> '{}' without a
--   query; a helper that needs another helper's answer calls it once and skips its own query when that
--   answer is empty (a patient pays nothing for the provider-side helpers but their membership lookup).
--   Why SECURITY DEFINER: a policy on table X that reads table Y with the caller's rights is subject to
--   Y's policies (and recursion when Y's policies read X); the helpers run as the owner (phi_owner,
--   which has an owner policy on every table) and reveal only facts about the caller.
--   app.sync_partition_policies(parent): re-copies the parent's current policies AND table privileges
--   onto every existing partition (a partition queried directly applies ITS policies and checks ITS
--   privileges, not the parent's). New partitions get the policies from app.copy_partition_safeguards
--   (no privilege: dark until a policy file syncs again); the policy files call this after changing a
--   parent's policies or grants.
-- Grants: none here. The access model gives `authenticated` EXECUTE on every function in app and tenant
-- (anon and service_role have none), so only authenticated policies call these helpers.

create or replace function tenant.rls_org_ids(p_user_types text[] default null)
returns uuid[]
language plpgsql
stable
security definer
set search_path = ''
as $fn$
declare
  v_uid uuid := auth.uid();
begin
  if v_uid is null then
    return '{}';
  end if;
  return array(
    select m.organization_id
      from tenant.organization_members m
     where m.user_id = v_uid
       and m.status = 'active'
       and (p_user_types is null or m.user_type = any (p_user_types)));
end
$fn$;

comment on function tenant.rls_org_ids(text[]) is
  'RLS helper: organizations where the caller (auth.uid()) is an active member, optionally only with one of the given user types. Empty when there is no caller.';

create or replace function tenant.rls_admin_member_ids()
returns uuid[]
language plpgsql
stable
security definer
set search_path = ''
as $fn$
declare
  v_uid uuid := auth.uid();
begin
  if v_uid is null then
    return '{}';
  end if;
  return array(
    select distinct m.user_id
      from tenant.organization_members a
      join tenant.organization_members m on m.organization_id = a.organization_id
     where a.user_id = v_uid
       and a.status = 'active'
       and a.user_type = 'admin');
end
$fn$;

comment on function tenant.rls_admin_member_ids() is
  'RLS helper: people (profile ids) who are members of an organization the caller administers.';

create or replace function app.rls_patient_ids()
returns uuid[]
language plpgsql
stable
security definer
set search_path = ''
as $fn$
declare
  v_uid uuid := auth.uid();
begin
  if v_uid is null then
    return '{}';
  end if;
  return array(
    select p.id
      from app.patients p
     where p.profile_id = v_uid);
end
$fn$;

comment on function app.rls_patient_ids() is 'RLS helper: the caller''s own patient records (app.patients.profile_id = auth.uid()).';

create or replace function app.rls_provider_ids()
returns uuid[]
language plpgsql
stable
security definer
set search_path = ''
as $fn$
declare
  v_uid uuid := auth.uid();
begin
  if v_uid is null then
    return '{}';
  end if;
  return array(
    select pr.id
      from app.providers pr
      join tenant.organization_members m
        on m.organization_id = pr.organization_id and m.user_id = pr.profile_id
     where pr.profile_id = v_uid
       and pr.status = 'active'
       and m.status = 'active'
       and m.user_type in ('provider', 'admin'));
end
$fn$;

comment on function app.rls_provider_ids() is
  'RLS helper: the caller''s active provider records, in organizations where the caller is an active provider (or admin) member.';

create or replace function app.rls_admin_provider_ids()
returns uuid[]
language plpgsql
stable
security definer
set search_path = ''
as $fn$
declare
  v_uid uuid := auth.uid();
begin
  if v_uid is null then
    return '{}';
  end if;
  return array(
    select pr.id
      from tenant.organization_members a
      join app.providers pr on pr.organization_id = a.organization_id
     where a.user_id = v_uid
       and a.status = 'active'
       and a.user_type = 'admin');
end
$fn$;

comment on function app.rls_admin_provider_ids() is
  'RLS helper: every provider record (active or not) of the organizations the caller administers. Appointments name their provider within their own organization (composite foreign key), so "provider_id in these" is "the organization''s appointments" in a form the planner can estimate and index (a handful of organizations would make organization_id = any(...) look like the whole table).';

create or replace function app.rls_treated_patient_ids()
returns uuid[]
language plpgsql
stable
security definer
set search_path = ''
as $fn$
declare
  v_providers uuid[] := app.rls_provider_ids();
begin
  if cardinality(v_providers) = 0 then
    return '{}';
  end if;
  return array(
    select distinct a.patient_id
      from app.appointments a
     where a.provider_id = any (v_providers)
       and a.status <> 'cancelled');
end
$fn$;

comment on function app.rls_treated_patient_ids() is
  'RLS helper: patients the caller treats, i.e. who have an appointment (not cancelled) with one of the caller''s provider records.';

create or replace function app.rls_psychotherapy_consent_patient_ids()
returns uuid[]
language plpgsql
stable
security definer
set search_path = ''
as $fn$
declare
  v_uid uuid := auth.uid();
begin
  if v_uid is null then
    return '{}';
  end if;
  return array(
    select distinct c.patient_id
      from app.patient_consents c
     where c.granted_to = v_uid
       and c.consent_type = 'psychotherapy_notes_access'
       and c.revoked_at is null
       and c.granted_at <= now()
       and (c.valid_until is null or c.valid_until > now()));
end
$fn$;

comment on function app.rls_psychotherapy_consent_patient_ids() is
  'RLS helper: patients whose psychotherapy_notes_access consent names the caller and is neither revoked nor expired.';

create or replace function app.rls_crisis_patient_ids()
returns uuid[]
language plpgsql
stable
security definer
set search_path = ''
as $fn$
declare
  v_uid uuid := auth.uid();
begin
  if v_uid is null then
    return '{}';
  end if;
  return array(
    select distinct p.id
      from app.crisis_access_grants g
      join app.patients p on p.organization_id = g.organization_id and (g.patient_id is null or p.id = g.patient_id)
     where g.grantee_id = v_uid
       and g.revoked_at is null
       and g.granted_at <= now()
       and g.expires_at > now());
end
$fn$;

comment on function app.rls_crisis_patient_ids() is
  'RLS helper: patients covered by a valid (unexpired, unrevoked) crisis access grant of the caller: the grant''s patient, or every patient of the organization for an organization-wide grant (patient_id NULL).';

create or replace function app.rls_crisis_org_ids()
returns uuid[]
language plpgsql
stable
security definer
set search_path = ''
as $fn$
declare
  v_uid uuid := auth.uid();
begin
  if v_uid is null then
    return '{}';
  end if;
  return array(
    select distinct g.organization_id
      from app.crisis_access_grants g
     where g.grantee_id = v_uid
       and g.patient_id is null
       and g.revoked_at is null
       and g.granted_at <= now()
       and g.expires_at > now());
end
$fn$;

comment on function app.rls_crisis_org_ids() is
  'RLS helper: organizations for which the caller holds a valid organization-wide crisis access grant (patient_id NULL).';

create or replace function app.rls_own_ai_session_ids()
returns uuid[]
language plpgsql
stable
security definer
set search_path = ''
as $fn$
declare
  v_patients uuid[] := app.rls_patient_ids();
begin
  if cardinality(v_patients) = 0 then
    return '{}';
  end if;
  return array(
    select s.id
      from app.ai_doctor_sessions s
     where s.patient_id = any (v_patients));
end
$fn$;

comment on function app.rls_own_ai_session_ids() is 'RLS helper: AI-doctor sessions of the caller''s own patient records.';

create or replace function app.rls_shared_ai_session_ids()
returns uuid[]
language plpgsql
stable
security definer
set search_path = ''
as $fn$
declare
  v_providers uuid[] := app.rls_provider_ids();
begin
  if cardinality(v_providers) = 0 then
    return '{}';
  end if;
  return array(
    select distinct sp.session_id
      from app.ai_doctor_sharing_permissions sp
     where sp.provider_id = any (v_providers)
       and sp.revoked_at is null
       and (sp.expires_at is null or sp.expires_at > now()));
end
$fn$;

comment on function app.rls_shared_ai_session_ids() is
  'RLS helper: AI-doctor sessions a patient shares with one of the caller''s provider records (not revoked, not expired).';

create or replace function app.rls_own_share_ids()
returns uuid[]
language plpgsql
stable
security definer
set search_path = ''
as $fn$
declare
  v_uid uuid := auth.uid();
begin
  if v_uid is null then
    return '{}';
  end if;
  return array(
    select s.id
      from app.healthcare_shares s
     where s.user_id = v_uid);
end
$fn$;

comment on function app.rls_own_share_ids() is 'RLS helper: healthcare shares the caller owns.';

create or replace function app.rls_own_order_ids()
returns uuid[]
language plpgsql
stable
security definer
set search_path = ''
as $fn$
declare
  v_patients uuid[] := app.rls_patient_ids();
begin
  if cardinality(v_patients) = 0 then
    return '{}';
  end if;
  return array(
    select o.id
      from app.orders o
     where o.patient_id = any (v_patients));
end
$fn$;

comment on function app.rls_own_order_ids() is 'RLS helper: e-commerce orders of the caller''s own patient records.';

create or replace function tenant.rls_token_user_id(p_table regclass, p_id uuid)
returns uuid
language plpgsql
stable
security definer
set search_path = ''
as $fn$
begin
  -- A policy on a token table cannot read that table itself (its SELECT policies call helpers through
  -- sub-selects: PostgreSQL reports infinite recursion), hence this helper. It answers only for tokens
  -- the caller may read anyway (self_select, admin_select).
  if p_table = 'tenant.oauth_access_tokens'::regclass then
    return (select t.user_id from tenant.oauth_access_tokens t
             where t.id = p_id
               and (t.user_id = (select auth.uid()) or t.organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[])));
  elsif p_table = 'tenant.oauth_refresh_tokens'::regclass then
    return (select t.user_id from tenant.oauth_refresh_tokens t
             where t.id = p_id
               and (t.user_id = (select auth.uid()) or t.organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[])));
  end if;
  return null;
end
$fn$;

comment on function tenant.rls_token_user_id(regclass, uuid) is
  'RLS helper: user_id of the stored OAuth token p_id (tenant.oauth_access_tokens or tenant.oauth_refresh_tokens) when the caller is that person or administers its organization, else NULL. The restrictive token_keeps_person policies use it so that no UPDATE hands a token to another person.';

-- ---------------------------------------------------------------------------------------------
-- Optional request-context restrictions (IP allow-list, business hours)
-- ---------------------------------------------------------------------------------------------
-- Switched on per stack by a row in tenant.instance_settings (category 'security'); absent = off:
--   security.ip_allowlist    ["10.0.0.0/8", "203.0.113.7/32"]: the request's client IP
--                            (auth.client_ip(): request.client_ip or the first X-Forwarded-For hop)
--                            must be inside one of them; a request without a client IP is refused.
--   security.business_hours  {"timezone": "America/New_York", "days": [1,2,3,4,5], "start": "07:00", "end": "19:00"}
--                            days are ISO weekdays (1 = Monday); the current time in that time zone
--                            must be in [start, end). A caller holding a valid crisis access grant is
--                            exempt (break-glass care must not stop at night).
-- A malformed setting fails CLOSED (no access) rather than silently switching the restriction off.

create or replace function app.rls_request_context_allowed()
returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $fn$
declare
  v_allow jsonb;
  v_hours jsonb;
  v_ip    inet;
  v_local timestamp;
  v_start time;
  v_end   time;
begin
  select s.setting_value into v_allow from tenant.instance_settings s where s.setting_key = 'security.ip_allowlist';
  select s.setting_value into v_hours from tenant.instance_settings s where s.setting_key = 'security.business_hours';

  if v_allow is not null and v_allow <> 'null'::jsonb then
    v_ip := auth.client_ip();
    begin
      if v_ip is null or jsonb_typeof(v_allow) <> 'array' or not exists (
           select from jsonb_array_elements_text(v_allow) as a(cidr) where v_ip <<= a.cidr::cidr) then
        return false;
      end if;
    exception when others then
      return false;  -- malformed allow-list: closed
    end;
  end if;

  if v_hours is not null and v_hours <> 'null'::jsonb then
    begin
      v_local := now() at time zone coalesce(v_hours ->> 'timezone', 'UTC');
      v_start := coalesce((v_hours ->> 'start')::time, time '00:00');
      v_end   := coalesce((v_hours ->> 'end')::time, time '24:00');
      if not (extract(isodow from v_local)::int in (select (d.value)::int from jsonb_array_elements_text(coalesce(v_hours -> 'days', '[1,2,3,4,5]')) as d)
              and v_local::time >= v_start and v_local::time < v_end) then
        -- Outside business hours: only break-glass grantees pass.
        return cardinality(app.rls_crisis_patient_ids()) > 0 or cardinality(app.rls_crisis_org_ids()) > 0;
      end if;
    exception when others then
      return false;  -- malformed business hours: closed
    end;
  end if;
  return true;
end
$fn$;

comment on function app.rls_request_context_allowed() is
  'RLS helper for the RESTRICTIVE request_context_guard policies: false when the optional IP allow-list (security.ip_allowlist) or business hours (security.business_hours, crisis grantees exempt) in tenant.instance_settings exclude the current request. True when neither is set.';

-- ---------------------------------------------------------------------------------------------
-- Partitions
-- ---------------------------------------------------------------------------------------------

create or replace function app.sync_partition_policies(p_parent regclass)
returns integer
language plpgsql
volatile
set search_path = ''
as $fn$
declare
  v_part   regclass;
  v_pol    name;
  v_owner  oid;
  v_from   text;
  v_grant  record;
  v_n      integer := 0;
begin
  select c.relowner into v_owner from pg_catalog.pg_class c where c.oid = p_parent;
  for v_part in
    select i.inhrelid::regclass from pg_catalog.pg_inherits i where i.inhparent = p_parent
  loop
    -- Drop the partition's policies and copy the parent's current set (same names, same text).
    for v_pol in select p.polname from pg_catalog.pg_policy p where p.polrelid = v_part loop
      execute format('drop policy %I on %s', v_pol, v_part);
    end loop;
    perform app.copy_partition_safeguards(p_parent, v_part);

    -- Privileges: exactly the parent's (every grantee but the owner loses what the parent does not give).
    select string_agg(distinct case when a.grantee = 0 then 'public' else quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) end, ', ')
      into v_from
      from pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
     where c.oid = v_part and a.grantee <> c.relowner;
    if v_from is not null then
      execute format('revoke all on %s from %s', v_part, v_from);
    end if;
    for v_grant in
      select case when a.grantee = 0 then 'public' else quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) end as grantee,
             string_agg(a.privilege_type, ', ' order by a.privilege_type) as privileges
        from pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
       where c.oid = p_parent and a.grantee <> v_owner
       group by a.grantee
       order by 1
    loop
      execute format('grant %s on %s to %s', v_grant.privileges, v_part, v_grant.grantee);
    end loop;
    v_n := v_n + 1;
  end loop;
  return v_n;
end
$fn$;

comment on function app.sync_partition_policies(regclass) is
  'Re-copies the parent''s current policies and table privileges onto every existing partition (run as the owner after changing a partitioned table''s policies or grants). Returns the number of partitions synced.';

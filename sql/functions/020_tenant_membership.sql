-- functions/020_tenant_membership.sql
-- What: who may manage an organization, and the organization's storage usage.
--   tenant.caller_is_owner()          true when the session did SET ROLE to the schema owner
--                                     (migrator, operators, jobs). The 'role' setting can only name
--                                     a role the login is a member of, so request roles cannot fake it.
--   tenant.member_type(org)           the caller's (auth.uid()) active user type in the organization.
--   tenant.caller_may_manage(org, types)  owner session, a service_role session (the database role
--                                     the API switched to, never the JWT's role claim, which is
--                                     untrusted input), or an active member of one of the given user types.
--   tenant.calculate_storage_usage(org)   bytes and objects used vs quota (seed: the production
--                                     guide's tenant.calculate_storage_usage).
-- The access model grants `authenticated` EXECUTE on every tenant function, so each SECURITY
-- DEFINER function here must be safe for any signed-in caller: they reveal only the caller's own
-- membership, or check it before answering.

create or replace function tenant.caller_is_owner()
returns boolean
language sql
stable
set search_path = ''
as $fn$
  select current_setting('role') = (select n.nspowner::regrole::text from pg_catalog.pg_namespace n where n.nspname = 'tenant')
$fn$;

comment on function tenant.caller_is_owner() is 'True when the session runs as the schema owner (SET ROLE phi_owner): migrations, operators, maintenance jobs.';

create or replace function tenant.member_type(p_organization_id uuid)
returns text
language sql
stable
security definer
set search_path = ''
as $fn$
  select m.user_type
    from tenant.organization_members m
   where m.organization_id = p_organization_id
     and m.user_id = auth.uid()
     and m.status = 'active'
$fn$;

comment on function tenant.member_type(uuid) is 'The caller''s (auth.uid()) active user type in the organization, NULL when not an active member.';

create or replace function tenant.caller_may_manage(p_organization_id uuid, p_user_types text[])
returns boolean
language sql
stable
set search_path = ''
as $fn$
  select tenant.caller_is_owner()
      or current_setting('role') = 'service_role'
      or coalesce(tenant.member_type(p_organization_id) = any (p_user_types), false)
$fn$;

comment on function tenant.caller_may_manage(uuid, text[]) is
  'Owner session, a service_role session (SET ROLE service_role by the API; the JWT role claim is not trusted), or an active member of the organization with one of the given user types.';

create or replace function tenant.calculate_storage_usage(p_organization_id uuid)
returns table (
  organization_id uuid,
  document_count  bigint,
  document_bytes  numeric,
  object_count    bigint,
  object_bytes    numeric,
  total_bytes     numeric,
  quota_bytes     bigint,
  percent_used    numeric,
  over_warning    boolean)
language plpgsql
stable
security definer
set search_path = ''
as $fn$
#variable_conflict use_column
declare
  v_docs_n  bigint;
  v_docs_b  numeric;
  v_objs_n  bigint;
  v_objs_b  numeric;
  v_quota   bigint;
  v_warn    integer;
begin
  if not tenant.caller_may_manage(p_organization_id, array['admin']) then
    raise exception 'not allowed to read the storage usage of organization %', p_organization_id
      using errcode = 'insufficient_privilege';
  end if;
  select count(*), coalesce(sum(d.size_bytes), 0) into v_docs_n, v_docs_b
    from app.documents d
   where d.organization_id = p_organization_id and d.status <> 'deleted';
  select count(*), coalesce(sum(o.size_bytes), 0) into v_objs_n, v_objs_b
    from storage_meta.objects o
   where o.organization_id = p_organization_id and o.status <> 'deleting';
  select q.max_bytes, q.warn_at_percent into v_quota, v_warn
    from storage_meta.quotas q where q.organization_id = p_organization_id;
  v_quota := coalesce(v_quota, 107374182400);
  v_warn  := coalesce(v_warn, 80);
  return query select
    p_organization_id, v_docs_n, v_docs_b, v_objs_n, v_objs_b, v_docs_b + v_objs_b, v_quota,
    round(100 * (v_docs_b + v_objs_b) / v_quota, 2),
    100 * (v_docs_b + v_objs_b) / v_quota >= v_warn;
end
$fn$;

comment on function tenant.calculate_storage_usage(uuid) is
  'Storage used by an organization (documents not deleted + registered objects) against its quota (storage_meta.quotas, default 100 GiB). For organization admins, service_role and the owner.';

-- functions/110_materialized_views.sql
-- What: refreshing and reading the materialized views of 20261122034.
--   app.refresh_materialized_views(views)  REFRESH MATERIALIZED VIEW CONCURRENTLY every view in
--       analytics_private and analytics (or the named ones): readers are never blocked. A view that was
--       never populated (or has no unique index) gets a plain refresh. Owner only; a second refresh
--       while one runs returns 'skipped' instead of queueing. Returns per view the mode, rows and time.
--   Readers of the private views (SECURITY DEFINER: the views have no RLS, so these decide, per call,
--   what the caller (auth.uid() from the request claims) may see, and return only that):
--       app.provider_availability(org)          active admins, providers and patients of the organization
--                                               (scheduling and booking)
--       app.top_providers(org, specialty, n)    active admins and providers of the organization (staff
--                                               performance: completed appointments and patients seen
--                                               per provider)
--       tenant.organization_dashboard(org)      active admins and providers of the organization; the mood
--                                               figures (entries, average) are withheld (null) when fewer
--                                               than 11 patients recorded a mood in the 30 days, so a small
--                                               organization's average is not one patient's mood
--       app.patient_mood_summary(patient)       the patient (profile), or an active provider of the
--                                               patient's organization who treats the patient (an
--                                               appointment that is not cancelled with one of the caller's
--                                               active provider records), as RLS on app.mood_entries
--                                               allows. Not an admin as such: admins see no clinical data.
--     and, for all of them, the owner session. Research partners and developers get none of them: they
--     read the de-identified views of schema analytics only. When the RLS layer's request-context guard
--     (app.rls_request_context_allowed: IP allow-list / business hours) is installed, it applies here
--     too, as it does to the tables.
--   app.mv_reader_allowed(org, types)         the shared membership + guard test.
-- Scheduling: where pg_cron is installed (RDS), job 'phi-db-refresh-views' refreshes every 15 minutes
-- (the seed's refresh-provider-availability schedule), as the owner; see 090_maintenance.sql for how
-- pg_cron runs jobs as phi_owner. Without pg_cron (local, CI) an operator or job calls the function.
-- Dashboards read data at most 15 minutes (+ refresh time) old: refreshed_at says how old.
-- The readers declare their columns instead of `returns setof <view>`: a function returning a view's
-- row type would depend on it, and the views' down migration (local/dev rollback) could not drop them.

create or replace function app.refresh_materialized_views(p_views text[] default null)
returns table (view_name text, refresh_mode text, row_count bigint, duration_ms numeric)
language plpgsql
volatile
set search_path = ''
as $fn$
#variable_conflict use_column
declare
  v_mv         record;
  v_started    timestamptz;
  v_concurrent boolean;
  v_unknown    text[];
begin
  if not (tenant.caller_is_owner()
          or exists (select from pg_catalog.pg_roles r where r.rolname = current_user and r.rolsuper)) then
    raise exception 'app.refresh_materialized_views() runs as the owner (SET ROLE phi_owner): the pg_cron job or an operator'
      using errcode = 'insufficient_privilege';
  end if;
  select array_agg(v) into v_unknown
    from unnest(p_views) as v
   where not exists (select from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
                      where c.relkind = 'm' and n.nspname in ('analytics_private', 'analytics') and c.oid::regclass::text = v);
  if v_unknown is not null then
    raise exception 'not a materialized view of analytics_private or analytics: %', array_to_string(v_unknown, ', ')
      using errcode = 'undefined_table';
  end if;
  if not pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('phi-db:refresh_materialized_views')) then
    view_name := '*';
    refresh_mode := 'skipped: another refresh is running';
    return next;
    return;
  end if;
  for v_mv in
    select c.oid::regclass as mv,
           c.relispopulated as populated,
           exists (select from pg_catalog.pg_index i
                    where i.indrelid = c.oid and i.indisunique and i.indisvalid and i.indpred is null and i.indexprs is null) as has_unique
      from pg_catalog.pg_class c
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where c.relkind = 'm'
       and n.nspname in ('analytics_private', 'analytics')
       and (p_views is null or c.oid::regclass::text = any (p_views))
     order by n.nspname, c.relname
  loop
    v_started := clock_timestamp();
    v_concurrent := v_mv.populated and v_mv.has_unique;
    if v_concurrent then
      execute format('refresh materialized view concurrently %s', v_mv.mv);
    else
      execute format('refresh materialized view %s', v_mv.mv);
    end if;
    view_name := v_mv.mv::text;
    refresh_mode := case when v_concurrent then 'concurrently' else 'full (not populated yet or no unique index)' end;
    duration_ms := round((extract(epoch from clock_timestamp() - v_started) * 1000)::numeric, 1);
    execute format('select count(*) from %s', v_mv.mv) into row_count;
    return next;
  end loop;
end
$fn$;

comment on function app.refresh_materialized_views(text[]) is
  'Refreshes the materialized views of analytics_private and analytics (all, or the named ones) CONCURRENTLY (readers never blocked); returns mode, rows and milliseconds per view. Owner only (pg_cron job phi-db-refresh-views every 15 minutes on RDS).';

create or replace function app.mv_reader_allowed(p_organization_id uuid, p_user_types text[])
returns boolean
language plpgsql
stable
set search_path = ''
as $fn$
declare
  v_ok boolean := true;
begin
  if tenant.caller_is_owner() then
    return true;
  end if;
  if p_organization_id is null or not coalesce(tenant.member_type(p_organization_id) = any (p_user_types), false) then
    return false;
  end if;
  -- The RLS layer's optional IP allow-list / business-hours guard, when installed (sql/policies).
  if to_regprocedure('app.rls_request_context_allowed()') is not null then
    execute 'select app.rls_request_context_allowed()' into v_ok;
  end if;
  return coalesce(v_ok, false);
end
$fn$;

comment on function app.mv_reader_allowed(uuid, text[]) is
  'True for the owner session, or when the caller (auth.uid()) is an active member of the organization with one of the given user types and the request-context guard (if installed) allows the request.';

create or replace function app.provider_availability(p_organization_id uuid)
returns table (organization_id uuid, provider_id uuid, first_name text, last_name text, specialties text[],
               telehealth boolean, accepting_new_patients boolean, available_slots bigint, available_slots_7_days bigint,
               telehealth_slots bigint, next_available timestamptz, refreshed_at timestamptz)
language plpgsql
stable
security definer
set search_path = ''
as $fn$
#variable_conflict use_column
begin
  if not app.mv_reader_allowed(p_organization_id, array['admin', 'provider', 'patient']) then
    raise exception 'not allowed to read the provider availability of organization %', p_organization_id
      using errcode = 'insufficient_privilege';
  end if;
  return query
    select v.* from analytics_private.provider_availability v
     where v.organization_id = p_organization_id
     order by v.next_available nulls last, v.last_name, v.first_name;
end
$fn$;

comment on function app.provider_availability(uuid) is
  'Providers of an organization with their open slots (materialized, see refreshed_at), soonest first. For active admins, providers and patients of the organization (not research partners or developers).';

create or replace function app.top_providers(p_organization_id uuid, p_specialty text default null, p_limit integer default 10)
returns table (organization_id uuid, specialty text, provider_id uuid, first_name text, last_name text, telehealth boolean,
               completed_90_days bigint, patients_90_days bigint, rank_in_specialty bigint, refreshed_at timestamptz)
language plpgsql
stable
security definer
set search_path = ''
as $fn$
#variable_conflict use_column
begin
  if not app.mv_reader_allowed(p_organization_id, array['admin', 'provider']) then
    raise exception 'not allowed to read the provider ranking of organization %', p_organization_id
      using errcode = 'insufficient_privilege';
  end if;
  return query
    select v.* from analytics_private.top_providers v
     where v.organization_id = p_organization_id
       and (p_specialty is null or v.specialty = p_specialty)
       and v.rank_in_specialty <= least(greatest(coalesce(p_limit, 10), 1), 100)
     order by v.specialty, v.rank_in_specialty, v.last_name, v.provider_id;
end
$fn$;

comment on function app.top_providers(uuid, text, integer) is
  'Providers of an organization ranked per specialty by appointments completed and patients seen in the last 90 days (materialized). For active admins and providers of the organization (staff performance figures).';

create or replace function tenant.organization_dashboard(p_organization_id uuid)
returns table (organization_id uuid, name text, status text, active_patients bigint, new_patients_30_days bigint,
               active_providers bigint, telehealth_providers bigint, appointments_next_7_days bigint,
               appointments_last_30_days bigint, completed_last_30_days bigint, no_show_last_30_days bigint,
               cancelled_last_30_days bigint, telehealth_last_30_days bigint, no_show_rate_percent numeric,
               waitlist_active bigint, mood_entries_30_days bigint, mood_patients_30_days bigint, avg_mood_30_days numeric,
               documents bigint, document_bytes numeric, refreshed_at timestamptz)
language plpgsql
stable
security definer
set search_path = ''
as $fn$
#variable_conflict use_column
begin
  if not app.mv_reader_allowed(p_organization_id, array['admin', 'provider']) then
    raise exception 'not allowed to read the dashboard of organization %', p_organization_id
      using errcode = 'insufficient_privilege';
  end if;
  return query
    select v.organization_id, v.name, v.status, v.active_patients, v.new_patients_30_days, v.active_providers,
           v.telehealth_providers, v.appointments_next_7_days, v.appointments_last_30_days, v.completed_last_30_days,
           v.no_show_last_30_days, v.cancelled_last_30_days, v.telehealth_last_30_days, v.no_show_rate_percent,
           v.waitlist_active,
           -- small-cell suppression (as in schema analytics): under 11 patients the figures describe individuals
           case when v.mood_patients_30_days >= 11 then v.mood_entries_30_days end,
           v.mood_patients_30_days,
           case when v.mood_patients_30_days >= 11 then v.avg_mood_30_days end,
           v.documents, v.document_bytes, v.refreshed_at
      from analytics_private.organization_dashboard v
     where v.organization_id = p_organization_id;
end
$fn$;

comment on function tenant.organization_dashboard(uuid) is
  'Dashboard metrics of one organization (materialized, see refreshed_at). For its active admins and providers; mood entries and average are null when fewer than 11 patients recorded a mood in the 30 days.';

create or replace function app.patient_mood_summary(p_patient_id uuid)
returns table (organization_id uuid, patient_id uuid, avg_mood_7_days numeric, avg_mood_30_days numeric,
               entries_7_days bigint, entries_30_days bigint, entries_90_days bigint, last_entry_at timestamptz,
               current_streak_days bigint, refreshed_at timestamptz)
language plpgsql
stable
security definer
set search_path = ''
as $fn$
#variable_conflict use_column
declare
  v_org     uuid;
  v_profile uuid;
  v_allowed boolean;
begin
  select p.organization_id, p.profile_id into v_org, v_profile from app.patients p where p.id = p_patient_id;
  v_allowed := tenant.caller_is_owner()
    or (v_org is not null and (
          -- the patient: their own figures (they may be any kind of member of the organization)
          (v_profile is not null and v_profile = auth.uid() and app.mv_reader_allowed(v_org, array['patient', 'admin', 'provider', 'research-partner', 'developer']))
          -- a treating provider (app.rls_treated_patient_ids: provider or admin membership with an active
          -- provider record and an appointment with the patient that is not cancelled). An admin who does
          -- not treat the patient is refused, as RLS on app.mood_entries refuses them the entries.
          or (app.mv_reader_allowed(v_org, array['provider', 'admin'])
              and exists (select from app.appointments a
                            join app.providers pr on pr.id = a.provider_id and pr.organization_id = a.organization_id
                           where a.organization_id = v_org
                             and a.patient_id = p_patient_id
                             and a.status <> 'cancelled'
                             and pr.profile_id = auth.uid()
                             and pr.status = 'active'))));
  if not coalesce(v_allowed, false) then
    -- The same answer whether the patient exists or not: ids are not probed through this function.
    raise exception 'not allowed to read the mood summary of patient %', p_patient_id
      using errcode = 'insufficient_privilege';
  end if;
  return query select v.* from analytics_private.patient_mood_summary v where v.patient_id = p_patient_id;
end
$fn$;

comment on function app.patient_mood_summary(uuid) is
  'PHI: mood averages (7/30 days), entries, last entry and current streak of one patient (materialized, see refreshed_at). For the patient and the providers of the patient''s organization who treat the patient (not admins as such, research partners or developers).';

do $do$
begin
  if exists (select from pg_catalog.pg_extension where extname = 'pg_cron') then
    begin
      perform cron.schedule('phi-db-refresh-views', '*/15 * * * *', 'select * from app.refresh_materialized_views()');
    exception when others then
      raise warning 'pg_cron is installed but the materialized-view refresh job could not be scheduled: %', sqlerrm;
    end;
  end if;
end
$do$;

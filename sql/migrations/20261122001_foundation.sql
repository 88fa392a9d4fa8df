-- 20261122001_foundation.sql
-- What: the building blocks every later migration uses:
--   * auth.*  claim helpers that read request.jwt.claims (PostgREST convention, set per transaction
--             by the API). They return NULL when the setting is unset or malformed and never raise.
--   * app.set_updated_at()  the one trigger function that maintains created_at/updated_at.
--   * app.create_monthly_partition() / app.ensure_monthly_partitions() / app.create_default_partition():
--             partition helpers that give every new partition the same RLS state, policies and
--             statement-level triggers as its parent (partitions are tables too: the migrator's
--             checks require RLS enabled + forced and a policy on each of them).
-- Why here: these functions are referenced by DDL (triggers, initial partitions) and by migration-time
-- inserts, so they must exist before repeatable files run. Later changes go in a new migration
-- (create or replace), never by editing this file.
-- Runs as phi_owner. Nothing here is granted to request roles: schema grants come from sql/access.json.

-- ---------------------------------------------------------------------------------------------
-- auth: request claims
-- ---------------------------------------------------------------------------------------------

create or replace function auth.jwt()
returns jsonb
language plpgsql
stable
set search_path = ''
as $fn$
declare
  v_raw    text := current_setting('request.jwt.claims', true);
  v_claims jsonb;
begin
  -- Unset (NULL) or reset at the end of the API's transaction (empty string): no claims.
  if v_raw is null or v_raw = '' then
    return null;
  end if;
  begin
    v_claims := v_raw::jsonb;
  exception when data_exception then
    return null;  -- malformed JSON is "no claims", never an error inside a policy
  end;
  if jsonb_typeof(v_claims) <> 'object' then
    return null;
  end if;
  return v_claims;
end
$fn$;

comment on function auth.jwt() is
  'Claims of the current request (request.jwt.claims, set per transaction by the API). NULL when unset, empty, malformed or not a JSON object; never raises.';

create or replace function auth.try_uuid(p_value text)
returns uuid
language sql
immutable
set search_path = ''
as $fn$
  select case
           when p_value ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then p_value::uuid
         end
$fn$;

comment on function auth.try_uuid(text) is
  'The text as a uuid, or NULL when it is not a canonical uuid (claims are untrusted input: no cast errors).';

create or replace function auth.uid()
returns uuid
language sql
stable
set search_path = ''
as $fn$
  select auth.try_uuid(coalesce(
           nullif(auth.jwt() ->> 'sub', ''),
           nullif(current_setting('request.jwt.claim.sub', true), '')  -- PostgREST < 9
         ))
$fn$;

comment on function auth.uid() is
  'Subject (user id) of the current request: claims.sub as uuid, NULL when unset or not a uuid. Replaces the seeds'' Supabase auth.uid(), which does not exist on RDS.';

create or replace function auth.role()
returns text
language sql
stable
set search_path = ''
as $fn$
  select coalesce(
           nullif(auth.jwt() ->> 'role', ''),
           nullif(current_setting('request.jwt.claim.role', true), '')
         )
$fn$;

comment on function auth.role() is 'Role claim of the current request (anon, authenticated, service_role), NULL when unset.';

create or replace function auth.org_id()
returns uuid
language sql
stable
set search_path = ''
as $fn$
  select auth.try_uuid(coalesce(
           nullif(auth.jwt() ->> 'org_id', ''),
           nullif(auth.jwt() -> 'app_metadata' ->> 'org_id', '')
         ))
$fn$;

comment on function auth.org_id() is
  'Organization the current request acts for: claims.org_id (or claims.app_metadata.org_id) as uuid, NULL when unset or invalid.';

create or replace function auth.session_id()
returns text
language sql
stable
set search_path = ''
as $fn$
  select left(coalesce(
           nullif(auth.jwt() ->> 'session_id', ''),
           nullif(current_setting('request.session_id', true), '')
         ), 200)
$fn$;

comment on function auth.session_id() is 'Session id of the current request (claims.session_id or request.session_id), NULL when unset.';

create or replace function auth.client_ip()
returns inet
language plpgsql
stable
set search_path = ''
as $fn$
declare
  v_raw text;
begin
  -- Our API sets request.client_ip; PostgREST exposes headers as request.headers (JSON).
  v_raw := nullif(current_setting('request.client_ip', true), '');
  if v_raw is null then
    begin
      v_raw := split_part(
                 (nullif(current_setting('request.headers', true), '')::jsonb) ->> 'x-forwarded-for', ',', 1);
    exception when data_exception then
      v_raw := null;
    end;
  end if;
  if v_raw is null or btrim(v_raw) = '' then
    return null;
  end if;
  begin
    return btrim(v_raw)::inet;
  exception when data_exception then
    return null;
  end;
end
$fn$;

comment on function auth.client_ip() is
  'End-user IP of the current request (request.client_ip, else the first X-Forwarded-For hop), NULL when unset or invalid; never raises.';

-- ---------------------------------------------------------------------------------------------
-- created_at / updated_at
-- ---------------------------------------------------------------------------------------------

create or replace function app.set_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $fn$
begin
  new.updated_at := now();
  new.created_at := old.created_at;  -- creation time is not editable
  return new;
end
$fn$;

comment on function app.set_updated_at() is
  'BEFORE UPDATE trigger: sets updated_at to the transaction time and keeps created_at unchanged.';

-- ---------------------------------------------------------------------------------------------
-- Partition helpers
-- ---------------------------------------------------------------------------------------------

create or replace function app.copy_partition_safeguards(p_parent regclass, p_partition regclass)
returns void
language plpgsql
set search_path = ''
as $fn$
declare
  v_pol  record;
  v_trg  record;
  v_sql  text;
begin
  -- Row-level security: same state as the parent (enabled and forced).
  execute format('alter table %s enable row level security, force row level security', p_partition);

  -- Policies: the parent's, under the same names (the migrator's checks accept a partition policy
  -- when its partition root declares the same name).
  for v_pol in
    select p.polname,
           p.polpermissive,
           case p.polcmd when 'r' then 'select' when 'a' then 'insert' when 'w' then 'update'
                         when 'd' then 'delete' else 'all' end as cmd,
           (select string_agg(case when r.oid = 0 then 'public' else quote_ident(pg_get_userbyid(r.oid)) end, ', ')
              from unnest(p.polroles) as r(oid)) as roles,
           pg_get_expr(p.polqual, p.polrelid) as qual,
           pg_get_expr(p.polwithcheck, p.polrelid) as with_check
      from pg_catalog.pg_policy p
     where p.polrelid = p_parent
       and not exists (select from pg_catalog.pg_policy q where q.polrelid = p_partition and q.polname = p.polname)
  loop
    v_sql := format('create policy %I on %s as %s for %s to %s',
                               v_pol.polname, p_partition,
                               case when v_pol.polpermissive then 'permissive' else 'restrictive' end,
                               v_pol.cmd, v_pol.roles);
    if v_pol.qual is not null then
      v_sql := v_sql || format(' using (%s)', v_pol.qual);
    end if;
    if v_pol.with_check is not null then
      v_sql := v_sql || format(' with check (%s)', v_pol.with_check);
    end if;
    execute v_sql;
  end loop;

  -- Statement-level triggers are not inherited by partitions (row-level ones are cloned by
  -- PostgreSQL itself). Copy the argument-less ones, e.g. the audit log's append-only guard.
  for v_trg in
    select t.tgname,
           case when t.tgtype::int & 2 <> 0 then 'before' else 'after' end as timing,
           concat_ws(' or ',
             case when t.tgtype::int & 4  <> 0 then 'insert' end,
             case when t.tgtype::int & 8  <> 0 then 'delete' end,
             case when t.tgtype::int & 16 <> 0 then 'update' end,
             case when t.tgtype::int & 32 <> 0 then 'truncate' end) as events,
           t.tgfoid::regproc as func
      from pg_catalog.pg_trigger t
     where t.tgrelid = p_parent
       and not t.tgisinternal
       and t.tgtype::int & 1 = 0          -- FOR EACH STATEMENT
       and t.tgnargs = 0
       and not exists (select from pg_catalog.pg_trigger u where u.tgrelid = p_partition and u.tgname = t.tgname)
  loop
    execute format('create trigger %I %s %s on %s for each statement execute function %s()',
                              v_trg.tgname, v_trg.timing, v_trg.events, p_partition, v_trg.func);
  end loop;
end
$fn$;

comment on function app.copy_partition_safeguards(regclass, regclass) is
  'Gives a partition its parent''s RLS state (enabled + forced), policies (same names) and argument-less statement-level triggers.';

create or replace function app.partition_key_column(p_parent regclass)
returns name
language sql
stable
set search_path = ''
as $fn$
  select a.attname
    from pg_catalog.pg_partitioned_table pt
    join pg_catalog.pg_attribute a on a.attrelid = pt.partrelid and a.attnum = pt.partattrs[0]
   where pt.partrelid = p_parent
     and pt.partstrat = 'r'
     and pt.partnatts = 1
$fn$;

comment on function app.partition_key_column(regclass) is 'The single range-partition key column of a partitioned table, NULL otherwise.';

create or replace function app.create_default_partition(p_parent regclass)
returns regclass
language plpgsql
set search_path = ''
as $fn$
declare
  v_schema name;
  v_table  name;
  v_part   regclass;
begin
  select n.nspname, c.relname into v_schema, v_table
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   where c.oid = p_parent and c.relkind = 'p';
  if not found then
    raise exception '% is not a partitioned table', p_parent using errcode = 'wrong_object_type';
  end if;
  v_part := to_regclass(format('%I.%I', v_schema, v_table || '_default'));
  if v_part is null then
    execute format('create table %I.%I partition of %s default', v_schema, v_table || '_default', p_parent);
    v_part := to_regclass(format('%I.%I', v_schema, v_table || '_default'));
    execute format('comment on table %s is %L', v_part,
      'Default partition of ' || p_parent::text || ': safety net for rows outside the monthly partitions created ahead.');
  end if;
  perform app.copy_partition_safeguards(p_parent, v_part);
  return v_part;
end
$fn$;

comment on function app.create_default_partition(regclass) is
  'Creates <table>_default (if missing) as the DEFAULT partition of a partitioned table, with the parent''s RLS, policies and statement triggers.';

create or replace function app.create_monthly_partition(p_parent regclass, p_month date)
returns regclass
language plpgsql
set search_path = ''
as $fn$
declare
  v_schema  name;
  v_table   name;
  v_column  name;
  v_name    text;
  v_part    regclass;
  v_default regclass;
  v_from    timestamptz;
  v_to      timestamptz;
  v_busy    boolean;
begin
  select n.nspname, c.relname into v_schema, v_table
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   where c.oid = p_parent and c.relkind = 'p';
  v_column := app.partition_key_column(p_parent);
  if v_table is null or v_column is null then
    raise exception '% is not range-partitioned on a single column', p_parent using errcode = 'wrong_object_type';
  end if;

  -- Month boundaries in UTC, so partition bounds do not depend on the session's TimeZone.
  v_from := date_trunc('month', p_month::timestamp) at time zone 'UTC';
  v_to   := (date_trunc('month', p_month::timestamp) + interval '1 month') at time zone 'UTC';
  v_name := v_table || '_p' || to_char(p_month, 'YYYY_MM');

  v_part := to_regclass(format('%I.%I', v_schema, v_name));
  if v_part is not null then
    perform app.copy_partition_safeguards(p_parent, v_part);
    return v_part;
  end if;

  -- Rows of this month already sitting in the default partition would make CREATE fail; leave the
  -- month to the default partition and say so (rows are never moved behind the audit trail's back).
  select i.inhrelid::regclass into v_default
    from pg_catalog.pg_inherits i
    join pg_catalog.pg_partitioned_table pt on pt.partrelid = i.inhparent and pt.partdefid = i.inhrelid
   where i.inhparent = p_parent;
  if v_default is not null then
    execute format('select exists (select from %s where %I >= $1 and %I < $2)', v_default, v_column, v_column)
      into v_busy using v_from, v_to;
    if v_busy then
      raise warning 'partition % not created: % holds rows of that month (they stay there)', v_name, v_default;
      return null;
    end if;
  end if;

  execute format('create table %I.%I partition of %s for values from (%L) to (%L)',
                            v_schema, v_name, p_parent, v_from, v_to);
  v_part := to_regclass(format('%I.%I', v_schema, v_name));
  execute format('comment on table %s is %L', v_part,
    'Monthly partition of ' || p_parent::text || ' for ' || to_char(p_month, 'YYYY-MM') || ' (UTC).');
  perform app.copy_partition_safeguards(p_parent, v_part);
  return v_part;
end
$fn$;

comment on function app.create_monthly_partition(regclass, date) is
  'Creates <table>_pYYYY_MM for the UTC month containing p_month (idempotent), with the parent''s RLS, policies and statement triggers.';

create or replace function app.ensure_monthly_partitions(p_parent regclass, p_months_back integer, p_months_ahead integer)
returns integer
language plpgsql
set search_path = ''
as $fn$
declare
  v_month date;
  v_count integer := 0;
  v_start date := (date_trunc('month', now() at time zone 'UTC'))::date;
begin
  if p_months_back < 0 or p_months_ahead < 0 or p_months_back + p_months_ahead > 240 then
    raise exception 'months back/ahead must be between 0 and 240 in total' using errcode = 'invalid_parameter_value';
  end if;
  for v_month in
    select (v_start + make_interval(months => m))::date
      from generate_series(-p_months_back, p_months_ahead) as g(m)
  loop
    if app.create_monthly_partition(p_parent, v_month) is not null then
      v_count := v_count + 1;
    end if;
  end loop;
  return v_count;
end
$fn$;

comment on function app.ensure_monthly_partitions(regclass, integer, integer) is
  'Makes sure monthly partitions exist from p_months_back before to p_months_ahead after the current UTC month; returns how many exist in that window. Called by migrations and by app.run_maintenance().';

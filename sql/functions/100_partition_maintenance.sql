-- functions/100_partition_maintenance.sql
-- What: partitions that maintain themselves.
--   app.partition_registry()          the monthly-partitioned tables, how many months before and
--                                     after the current UTC month must exist, their retention and
--                                     where expired months go. ONE place to change a window.
--   app.maintain_partitions()         creates every missing month of that window (with the parent's
--                                     RLS, policies and statement triggers, via
--                                     app.create_monthly_partition); a month whose partition cannot
--                                     get its lock within 5 s is skipped and reported (it is created
--                                     months ahead, so the next run catches up). Idempotent.
--   app.default_partition_rows()      rows sitting in each DEFAULT partition (strays outside the
--                                     created months): count, oldest and newest key. Expected: 0.
--   app.detach_expired_partitions()   months entirely older than the retention period are DETACHED
--                                     from the live table and attached, unchanged, to its archive
--                                     table (audit.log -> audit.log_archive, renamed
--                                     log_archive_pYYYY_MM). Nothing is dropped here.
--   audit.release_archived_partition() drops an archived month only with the receipt of its export to
--                                     the audit-export bucket (s3:// URI + row count, checked against
--                                     the table) and records the release in audit.security_events.
--   app.on_schema_apply(settings)     what every `phi-db up` run (CLI or Pulumi schema resource) does
--                                     after applying the schema, even with nothing pending: the
--                                     partition window, a warning for strays in default partitions,
--                                     and, from the stack config (phi-db:modules, phi-db:requestGuard),
--                                     the module activations and the request guard's settings rows.
-- Callers: app.run_maintenance() (daily; pg_cron job phi-db-maintenance on RDS), app.purge_expired_data()
-- (retention), `phi-db up` (app.on_schema_apply), and this file itself when it changes.
-- pg_partman (RDS only) is not used: one code path everywhere, and partitions must get our RLS policies
-- and append-only triggers, which pg_partman's templates do not copy.
-- SECURITY INVOKER throughout: effective only as the owner (migrator, operators, pg_cron as phi_owner).

create or replace function app.partition_registry()
returns table (
  parent            regclass,
  months_back       integer,
  months_ahead      integer,
  retention_setting text,
  retention_default interval,
  archive_parent    regclass)
language sql
stable
set search_path = ''
as $fn$
  -- appointments: 18 months ahead (bookings far in advance), no retention here (medical records:
  --               a legal decision per organization, not a partition rule).
  -- audit.log:    3 months ahead; months older than retention.audit_years (never < six years,
  --               audit.evidence_retention()) are detached into audit.log_archive.
  select to_regclass('app.appointments'), 1, 18, null::text, null::interval, null::regclass
  union all
  select to_regclass('audit.log'), 1, 3, 'retention.audit_years',
         greatest(make_interval(years => 6), audit.evidence_retention()),
         to_regclass('audit.log_archive')
$fn$;

comment on function app.partition_registry() is
  'The monthly-partitioned tables: months kept before/after the current UTC month, retention setting and default, archive table for expired months.';

create or replace function app.default_partition_rows()
returns table (parent text, default_partition text, rows bigint, oldest timestamptz, newest timestamptz)
language plpgsql
stable
set search_path = ''
as $fn$
#variable_conflict use_column
declare
  v_reg     record;
  v_default regclass;
  v_column  name;
begin
  for v_reg in select r.parent from app.partition_registry() r where r.parent is not null loop
    select pt.partdefid::regclass into v_default
      from pg_catalog.pg_partitioned_table pt
     where pt.partrelid = v_reg.parent and pt.partdefid <> 0;
    if v_default is null then
      continue;
    end if;
    v_column := app.partition_key_column(v_reg.parent);
    parent := v_reg.parent::text;
    default_partition := v_default::text;
    execute format('select count(*), min(%I), max(%I) from %s', v_column, v_column, v_default)
      into rows, oldest, newest;
    return next;
  end loop;
end
$fn$;

comment on function app.default_partition_rows() is
  'Rows in the DEFAULT partition of each monthly-partitioned table (should be 0): count, oldest and newest partition key. Non-zero means a month was missing when rows arrived.';

create or replace function app.maintain_partitions()
returns table (parent text, months_back integer, months_ahead integer, created integer, skipped integer, partitions integer, newest_month date)
language plpgsql
volatile
set search_path = ''
as $fn$
#variable_conflict use_column
declare
  v_reg       record;
  v_month     date;
  v_start     date := date_trunc('month', now() at time zone 'UTC')::date;
  v_name      text;
  v_schema    name;
  v_table     name;
  v_existing  regclass;
  v_lock      text := current_setting('lock_timeout');
begin
  -- Creating a partition locks the parent (and scans the default partition): never queue behind a
  -- long transaction for more than 5 s while holding up everyone else. Restored before returning.
  perform set_config('lock_timeout', '5s', true);
  for v_reg in select r.* from app.partition_registry() r where r.parent is not null loop
    created := 0;
    skipped := 0;
    select n.nspname, c.relname into v_schema, v_table
      from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where c.oid = v_reg.parent;
    for v_month in
      select (v_start + make_interval(months => m))::date
        from generate_series(-v_reg.months_back, v_reg.months_ahead) as g(m)
    loop
      v_name := v_table || '_p' || to_char(v_month, 'YYYY_MM');
      v_existing := to_regclass(format('%I.%I', v_schema, v_name));
      if v_existing is not null then
        -- Existing month: give it any policy its parent gained since (e.g. new RLS policies).
        perform app.copy_partition_safeguards(v_reg.parent, v_existing);
        continue;
      end if;
      begin
        if app.create_monthly_partition(v_reg.parent, v_month) is not null then
          created := created + 1;
        else
          skipped := skipped + 1;  -- rows of that month already in the default partition (warned)
        end if;
      exception when lock_not_available then
        raise warning 'partition % of % not created now: lock not available within 5 s (next run retries)', v_name, v_reg.parent;
        skipped := skipped + 1;
      end;
    end loop;
    parent := v_reg.parent::text;
    months_back := v_reg.months_back;
    months_ahead := v_reg.months_ahead;
    select count(*)::integer,
           max(to_date(substring(c.relname from '_p([0-9]{4}_[0-9]{2})$'), 'YYYY_MM'))
      into partitions, newest_month
      from pg_catalog.pg_inherits i join pg_catalog.pg_class c on c.oid = i.inhrelid
     where i.inhparent = v_reg.parent and c.relname ~ '_p[0-9]{4}_[0-9]{2}$';
    return next;
  end loop;
  perform set_config('lock_timeout', v_lock, true);
end
$fn$;

comment on function app.maintain_partitions() is
  'Creates the missing monthly partitions of every table in app.partition_registry() (RLS, policies and statement triggers copied from the parent); returns per table how many were created/skipped, how many month partitions exist and the newest month. Idempotent.';

create or replace function app.detach_expired_partitions(p_dry_run boolean default false)
returns table (parent text, partition_name text, archived_as text, month date, rows bigint)
language plpgsql
volatile
set search_path = ''
as $fn$
#variable_conflict use_column
declare
  v_reg      record;
  v_part     record;
  v_cutoff   timestamptz;
  v_keep     interval;
  v_column   name;
  v_schema   name;
  v_new      text;
  v_from     timestamptz;
  v_to       timestamptz;
  v_pol      record;
  v_lock     text := current_setting('lock_timeout');
  v_done     jsonb := '[]';
begin
  perform set_config('lock_timeout', '10s', true);
  for v_reg in select r.* from app.partition_registry() r where r.parent is not null and r.archive_parent is not null loop
    v_keep := greatest(
      coalesce(make_interval(years => app.retention_setting(v_reg.retention_setting, 0)), interval '0'),
      v_reg.retention_default);
    v_cutoff := now() - v_keep;
    v_column := app.partition_key_column(v_reg.parent);
    for v_part in
      select c.oid::regclass as part, c.relname, n.nspname,
             to_date(substring(c.relname from '_p([0-9]{4}_[0-9]{2})$'), 'YYYY_MM') as month
        from pg_catalog.pg_inherits i
        join pg_catalog.pg_class c on c.oid = i.inhrelid
        join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       where i.inhparent = v_reg.parent
         and c.relname ~ '_p[0-9]{4}_[0-9]{2}$'
       order by 4
    loop
      -- Same boundaries as app.create_monthly_partition (UTC months).
      v_from := date_trunc('month', v_part.month::timestamp) at time zone 'UTC';
      v_to   := (date_trunc('month', v_part.month::timestamp) + interval '1 month') at time zone 'UTC';
      if v_to > v_cutoff then
        continue;  -- the month still has rows inside the retention period
      end if;
      parent := v_reg.parent::text;
      partition_name := v_part.part::text;
      month := v_part.month;
      execute format('select count(*) from %s', v_part.part) into rows;
      v_new := (select c.relname from pg_catalog.pg_class c where c.oid = v_reg.archive_parent) || '_p' || to_char(v_part.month, 'YYYY_MM');
      select n.nspname into v_schema
        from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       where c.oid = v_reg.archive_parent;
      archived_as := format('%I.%I', v_schema, v_new);
      if not p_dry_run then
        execute format('alter table %s detach partition %s', v_reg.parent, v_part.part);
        execute format('alter table %s rename to %I', v_part.part, v_new);
        if v_schema <> v_part.nspname then
          execute format('alter table %I.%I set schema %I', v_part.nspname, v_new, v_schema);
        end if;
        execute format('alter table %s attach partition %I.%I for values from (%L) to (%L)',
                       v_reg.archive_parent, v_schema, v_new, v_from, v_to);
        -- The archived month carries exactly its new root's policies (e.g. no insert policy).
        for v_pol in
          select p.polname from pg_catalog.pg_policy p
           where p.polrelid = format('%I.%I', v_schema, v_new)::regclass
             and not exists (select from pg_catalog.pg_policy q where q.polrelid = v_reg.archive_parent and q.polname = p.polname)
        loop
          execute format('drop policy %I on %I.%I', v_pol.polname, v_schema, v_new);
        end loop;
        perform app.copy_partition_safeguards(v_reg.archive_parent, format('%I.%I', v_schema, v_new)::regclass);
        v_done := v_done || jsonb_build_object('table', parent, 'month', to_char(month, 'YYYY-MM'), 'archived_as', archived_as, 'rows', rows);
      end if;
      return next;
    end loop;
  end loop;
  if jsonb_array_length(v_done) > 0 then
    perform audit.record_security_event('retention_purge', 'info',
      jsonb_build_object('action', 'partitions_detached_to_archive', 'partitions', v_done));
  end if;
  perform set_config('lock_timeout', v_lock, true);
end
$fn$;

comment on function app.detach_expired_partitions(boolean) is
  'Detaches monthly partitions entirely older than the retention period from their live table and attaches them unchanged to the archive table (audit.log -> audit.log_archive); dry_run only lists them. Never drops. Records the detach in audit.security_events.';

create or replace function audit.release_archived_partition(p_partition regclass, p_export_uri text, p_exported_rows bigint)
returns bigint
language plpgsql
volatile
set search_path = ''
as $fn$
declare
  v_rows bigint;
  v_root regclass;
begin
  select i.inhparent::regclass into v_root from pg_catalog.pg_inherits i where i.inhrelid = p_partition;
  if v_root is distinct from 'audit.log_archive'::regclass then
    raise exception '% is not an archived audit partition (not a partition of audit.log_archive)', p_partition
      using errcode = 'invalid_parameter_value';
  end if;
  if p_export_uri is null or p_export_uri !~ '^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+' then
    raise exception 'export URI must be the s3:// location of the exported copy, got %', coalesce(p_export_uri, 'NULL')
      using errcode = 'invalid_parameter_value';
  end if;
  execute format('select count(*) from %s', p_partition) into v_rows;
  if p_exported_rows is distinct from v_rows then
    raise exception 'export of % holds % rows but the partition has %: not released', p_partition, p_exported_rows, v_rows
      using errcode = 'invalid_parameter_value';
  end if;
  perform audit.record_security_event('retention_purge', 'warning',
    jsonb_build_object('action', 'archived_partition_released', 'partition', p_partition::text,
                       'rows', v_rows, 'export_uri', p_export_uri));
  execute format('drop table %s', p_partition);
  return v_rows;
end
$fn$;

comment on function audit.release_archived_partition(regclass, text, bigint) is
  'Drops one archived audit month (a partition of audit.log_archive) once it has been exported: needs the s3:// URI of the copy in the audit-export bucket and its row count (checked). Records the release in audit.security_events.';

-- The zero-argument form of earlier versions: replaced by the one below, whose settings default to
-- null, so `select * from app.on_schema_apply()` still works (partition window only).
drop function if exists app.on_schema_apply();

create or replace function app.on_schema_apply(p_settings jsonb default null)
returns table (task text, result text)
language plpgsql
volatile
set search_path = ''
as $fn$
#variable_conflict use_column
declare
  v_r       record;
  v_module  record;
  v_row     tenant.instance_module_activations%rowtype;
  v_guard   jsonb;
  v_want    jsonb;
  v_have    jsonb;
  v_key     text;
  v_part    text;
  v_desc    text;
begin
  if p_settings is not null and jsonb_typeof(p_settings) <> 'object' then
    raise exception 'app.on_schema_apply: settings must be a JSON object {modules, requestGuard}, got %', p_settings
      using errcode = 'invalid_parameter_value';
  end if;

  -- 1. The partition window, and strays in default partitions.
  for v_r in select * from app.maintain_partitions() loop
    task := 'partitions ' || v_r.parent;
    result := format('%s created, %s skipped, %s monthly partitions, newest %s', v_r.created, v_r.skipped, v_r.partitions, to_char(v_r.newest_month, 'YYYY-MM'));
    return next;
  end loop;
  for v_r in select * from app.default_partition_rows() where rows > 0 loop
    raise warning '% holds % row(s) from % to % outside the monthly partitions', v_r.default_partition, v_r.rows, v_r.oldest, v_r.newest;
    task := 'default partition ' || v_r.default_partition;
    result := v_r.rows || ' stray row(s)';
    return next;
  end loop;

  -- 2. Optional modules (phi-db:modules): {"<module>": true|false} for every module the config
  --    manages. A change is one audited UPDATE/INSERT; an unchanged module is not touched.
  if p_settings ? 'modules' then
    if jsonb_typeof(p_settings -> 'modules') <> 'object' then
      raise exception 'app.on_schema_apply: modules must be a JSON object {"<module>": true|false}, got %', p_settings -> 'modules'
        using errcode = 'invalid_parameter_value';
    end if;
    for v_module in select m.key as name, m.value as wanted from jsonb_each(p_settings -> 'modules') m order by m.key loop
      if jsonb_typeof(v_module.wanted) <> 'boolean' then
        raise exception 'app.on_schema_apply: module % must be true or false, got %', v_module.name, v_module.wanted
          using errcode = 'invalid_parameter_value';
      end if;
      task := 'module ' || v_module.name;
      select * into v_row from tenant.instance_module_activations m where m.module_name = v_module.name for update;
      if (v_module.wanted)::boolean then
        if v_row.id is null then
          insert into tenant.instance_module_activations (module_name, is_active, activated_at)
          values (v_module.name, true, now());
          result := 'activated';
        elsif not v_row.is_active then
          -- activated_at must stay before a (past) licence expiry: only a live activation gets now().
          update tenant.instance_module_activations m
             set is_active = true,
                 activated_at = case when m.expires_at is null or m.expires_at > now() then now()
                                     else coalesce(m.activated_at, m.expires_at - interval '1 second') end
           where m.id = v_row.id;
          result := 'activated';
        else
          result := 'active (unchanged)';
        end if;
        if v_row.expires_at is not null and v_row.expires_at <= now() then
          raise warning 'module % is switched on but its activation expired at %: its tables stay read-only until expires_at is cleared or extended', v_module.name, v_row.expires_at;
          result := result || format(', but expired at %s: still read-only', v_row.expires_at);
        end if;
      else
        if v_row.id is not null and v_row.is_active then
          update tenant.instance_module_activations m set is_active = false where m.id = v_row.id;
          result := 'deactivated';
        else
          result := 'off (unchanged)';
        end if;
      end if;
      return next;
    end loop;
  end if;

  -- 3. The RLS request guard (phi-db:requestGuard): rows security.ip_allowlist and
  --    security.business_hours of tenant.instance_settings, read by app.rls_request_context_allowed().
  --    A part the config leaves out is deleted. Values are checked here too, because the guard fails
  --    closed (refuses everyone) on a value it cannot read.
  if p_settings ? 'requestGuard' then
    v_guard := p_settings -> 'requestGuard';
    if jsonb_typeof(v_guard) <> 'object' or exists (select from jsonb_object_keys(v_guard) k where k not in ('ipAllowlist', 'businessHours')) then
      raise exception 'app.on_schema_apply: requestGuard must be a JSON object with ipAllowlist and/or businessHours, got %', v_guard
        using errcode = 'invalid_parameter_value';
    end if;
    for v_part, v_key in select * from (values ('ipAllowlist', 'security.ip_allowlist'), ('businessHours', 'security.business_hours')) as g(part, setting_key) loop
      v_want := nullif(v_guard -> v_part, 'null'::jsonb);
      if v_want is not null and v_part = 'ipAllowlist' then
        if jsonb_typeof(v_want) <> 'array' or jsonb_array_length(v_want) = 0 then
          raise exception 'app.on_schema_apply: requestGuard.ipAllowlist must be a non-empty JSON array of CIDRs, got %', v_want
            using errcode = 'invalid_parameter_value';
        end if;
        perform e::cidr from jsonb_array_elements_text(v_want) e;  -- invalid_text_representation names the value
        v_desc := 'IP allow-list of the request guard: set by phi-db:requestGuard.ipAllowlist (stack config)';
      elsif v_want is not null then
        if jsonb_typeof(v_want) <> 'object'
           or not (v_want ?& array['timezone', 'days', 'start', 'end'])
           or jsonb_typeof(v_want -> 'days') <> 'array' or jsonb_array_length(v_want -> 'days') = 0
           or exists (select from jsonb_array_elements(v_want -> 'days') d where jsonb_typeof(d) <> 'number' or d::text !~ '^[1-7]$') then
          raise exception 'app.on_schema_apply: requestGuard.businessHours must be {"timezone": IANA zone, "days": [1-7, ...], "start": "HH:MM", "end": "HH:MM"}, got %', v_want
            using errcode = 'invalid_parameter_value';
        end if;
        perform now() at time zone (v_want ->> 'timezone');  -- 'time zone "x" not recognized'
        if (v_want ->> 'start')::time >= (v_want ->> 'end')::time then
          raise exception 'app.on_schema_apply: requestGuard.businessHours.end (%) must be later than start (%)', v_want ->> 'end', v_want ->> 'start'
            using errcode = 'invalid_parameter_value';
        end if;
        v_desc := 'Business hours of the request guard (crisis grantees exempt): set by phi-db:requestGuard.businessHours (stack config)';
      end if;
      task := 'setting ' || v_key;
      select s.setting_value into v_have from tenant.instance_settings s where s.setting_key = v_key for update;
      if v_want is null then
        if found then
          delete from tenant.instance_settings s where s.setting_key = v_key;
          result := 'removed';
        else
          result := 'off (unchanged)';
        end if;
      elsif not found then
        insert into tenant.instance_settings (setting_key, setting_value, category, description)
        values (v_key, v_want, 'security', v_desc);
        result := 'set ' || v_want::text;
      elsif v_have is distinct from v_want then
        update tenant.instance_settings s set setting_value = v_want, category = 'security', description = v_desc where s.setting_key = v_key;
        result := 'changed to ' || v_want::text;
      else
        result := 'unchanged';
      end if;
      return next;
    end loop;
  end if;
end
$fn$;

comment on function app.on_schema_apply(jsonb) is
  'Run by `phi-db up` (and the Pulumi schema resource) after every apply: keeps the monthly partition window (app.maintain_partitions), warns about rows in default partitions, and makes the optional modules (settings.modules {"<module>": bool}) and the request guard rows (settings.requestGuard {ipAllowlist, businessHours} -> security.ip_allowlist / security.business_hours in tenant.instance_settings) match the stack config. Null settings: partitions only. Idempotent; one row (task, result) per item.';

-- Whenever this file changes, bring the partition window up to date right away.
select count(*) from app.maintain_partitions();

-- 20261122039_partition_privileges.down.sql: reverses 20261122039 (local/dev only): the definition of
-- 20261122001 (no privileges copied). Partitions created meanwhile keep the privileges they got.

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

-- 20261122039_partition_privileges.sql
-- What: app.copy_partition_safeguards (used by app.create_monthly_partition, hence by the partition
-- maintenance) also copies the parent's table privileges onto a new partition, and copies the
-- parent's statement-level triggers as declared (transition tables and arguments included, which
-- the audit statement triggers of 20261122040 need; before, only argument-less ones were copied).
-- Why: since table privileges of the RLS-managed schemas are granted per table in sql/policies (next
-- to the policies), a month created later by app.maintain_partitions had the parent's RLS and
-- policies but no privileges: queried directly it refused request roles the parent serves (safe, but
-- inconsistent with the partitions that existed when the policy files ran, which
-- app.sync_partition_policies aligns). Now every partition offers exactly its parent's commands.

create or replace function app.copy_partition_safeguards(p_parent regclass, p_partition regclass)
returns void
language plpgsql
set search_path = ''
as $fn$
declare
  v_pol   record;
  v_trg   record;
  v_grant record;
  v_sql   text;
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

  -- Table privileges: the parent's (the policy files grant per table; a partition queried directly
  -- must offer the same commands to the same roles as its parent, no more). Grants only add:
  -- app.sync_partition_policies (sql/policies) re-aligns existing partitions exactly.
  for v_grant in
    select case when a.grantee = 0 then 'public' else quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) end as grantee,
           string_agg(a.privilege_type, ', ' order by a.privilege_type) as privileges
      from pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
     where c.oid = p_parent and a.grantee <> c.relowner
     group by a.grantee
  loop
    execute format('grant %s on %s to %s', v_grant.privileges, p_partition, v_grant.grantee);
  end loop;

  -- Statement-level triggers are not inherited by partitions (row-level ones are cloned by
  -- PostgreSQL itself). Copy them as the parent declares them, transition tables and arguments
  -- included (the audit triggers of 20261122040, the audit log's append-only guard):
  -- pg_get_triggerdef names the parent schema-qualified here (search_path is empty), as p_parent::text does.
  for v_trg in
    select t.tgname, pg_catalog.pg_get_triggerdef(t.oid) as def
      from pg_catalog.pg_trigger t
     where t.tgrelid = p_parent
       and not t.tgisinternal
       and t.tgtype::int & 1 = 0          -- FOR EACH STATEMENT
       and not exists (select from pg_catalog.pg_trigger u where u.tgrelid = p_partition and u.tgname = t.tgname)
  loop
    execute pg_catalog.replace(v_trg.def, ' ON ' || p_parent::text || ' ', ' ON ' || p_partition::text || ' ');
  end loop;
end
$fn$;

comment on function app.copy_partition_safeguards(regclass, regclass) is
  'Gives a partition its parent''s RLS state (enabled + forced), policies (same names), table privileges and statement-level triggers (as declared: transition tables and arguments included).';

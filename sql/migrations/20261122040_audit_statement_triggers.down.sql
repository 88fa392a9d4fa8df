-- 20261122040_audit_statement_triggers.down.sql: reverses 20261122040 (local/dev only): every table
-- with the audit statement triggers gets the row trigger audit_changes (audit.log_change) back, with
-- the same chain-rule argument; the statement triggers go, on the tables and on their partitions.

do $do$
declare
  v_t   record;
  v_rel regclass;
begin
  for v_t in
    select t.tgrelid::regclass as rel,
           case when t.tgnargs > 0 then quote_literal(convert_from(substring(t.tgargs from 1 for position('\x00'::bytea in t.tgargs) - 1), 'UTF8')) else '' end as arg
      from pg_catalog.pg_trigger t
      join pg_catalog.pg_class c on c.oid = t.tgrelid
     where t.tgname = 'audit_insert'
       and t.tgfoid = 'audit.log_statement()'::regprocedure
       and not c.relispartition
  loop
    for v_rel in
      select v_t.rel
      union all
      select i.relid::regclass from pg_catalog.pg_partition_tree(v_t.rel) i where i.relid <> v_t.rel::oid
    loop
      execute format('drop trigger if exists audit_insert on %s', v_rel);
      execute format('drop trigger if exists audit_update on %s', v_rel);
      execute format('drop trigger if exists audit_delete on %s', v_rel);
    end loop;
    execute format('create trigger audit_changes after insert or update or delete on %s for each row execute function audit.log_change(%s)', v_t.rel, v_t.arg);
  end loop;
end
$do$;

drop function if exists audit.log_statement();

comment on function audit.log_change() is
  'Generic AFTER INSERT/UPDATE/DELETE row trigger for PHI tables: appends a hash-chained audit.log entry with the changed field names, actor, role, IP and session. Optional argument ''org:<column>'' or ''user:<column>'' names the chain.';

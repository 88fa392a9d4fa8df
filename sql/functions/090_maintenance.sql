-- functions/090_maintenance.sql
-- What: app.run_maintenance(), the daily housekeeping job:
--   * keeps monthly partitions created ahead (app.maintain_partitions, functions/100; windows in
--     app.partition_registry: app.appointments 18 months, audit.log 3 months; both also have a
--     default partition, so a missed run never blocks writes) and reports strays in the default
--     partitions (app.default_partition_rows);
--   * applies the retention rules (app.purge_expired_data), which detaches expired audit months
--     into audit.log_archive.
-- Materialized views are refreshed by their own, more frequent job (functions/110).
-- Scheduling: where pg_cron is installed in this database (RDS: the database named by
-- cron.database_name), the job 'phi-db-maintenance' is (re)scheduled daily at 03:17 UTC. pg_cron
-- runs a job as the role that scheduled it (here the owner, phi_owner, which is NOLOGIN); with
-- cron.use_background_workers = on that works, otherwise schedule it from a login that is a member
-- of phi_owner and prefix the command with SET ROLE phi_owner. Without pg_cron (local, CI) nothing
-- is scheduled and an operator or CI job calls the function.
-- SECURITY INVOKER: run it as the owner.

create or replace function app.run_maintenance()
returns table (task text, result text)
language plpgsql
volatile
set search_path = ''
as $fn$
#variable_conflict use_column
declare
  v_r record;
begin
  for v_r in select * from app.maintain_partitions() loop
    task := 'partitions ' || v_r.parent;
    result := format('%s monthly partitions present (%s back, %s ahead), %s created, %s skipped',
                     v_r.partitions, v_r.months_back, v_r.months_ahead, v_r.created, v_r.skipped);
    return next;
  end loop;
  for v_r in select * from app.default_partition_rows() loop
    task := 'default partition ' || v_r.default_partition;
    result := case when v_r.rows = 0 then 'empty'
                   else format('%s stray row(s) from %s to %s: create the months or move them deliberately', v_r.rows, v_r.oldest, v_r.newest) end;
    return next;
  end loop;
  for v_r in select * from app.purge_expired_data(false) loop
    task := 'purge ' || v_r.item;
    result := v_r.rows_affected || case when v_r.item = 'audit.log (partitions)' then ' detached into audit.log_archive' else ' removed' end;
    return next;
  end loop;
end
$fn$;

comment on function app.run_maintenance() is
  'Daily housekeeping: monthly partitions ahead (app.partition_registry: appointments 18 months, audit log 3 months), strays in default partitions, and the retention purge (expired audit months detached into audit.log_archive). Run as the owner (pg_cron job phi-db-maintenance where available).';

do $do$
begin
  if exists (select from pg_catalog.pg_extension where extname = 'pg_cron') then
    begin
      perform cron.schedule('phi-db-maintenance', '17 3 * * *', 'select * from app.run_maintenance()');
    exception when others then
      raise warning 'pg_cron is installed but the maintenance job could not be scheduled: %', sqlerrm;
    end;
  end if;
end
$do$;

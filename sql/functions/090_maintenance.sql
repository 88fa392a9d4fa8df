-- functions/090_maintenance.sql
-- What: app.run_maintenance(), the daily housekeeping job:
--   * keeps monthly partitions created ahead: app.appointments 18 months, audit.log 3 months
--     (both also have a default partition, so a missed run never blocks writes);
--   * applies the retention rules (app.purge_expired_data).
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
  v_n bigint;
  v_r record;
begin
  v_n := app.ensure_monthly_partitions('app.appointments', 1, 18);
  task := 'partitions app.appointments'; result := v_n || ' monthly partitions present (1 back, 18 ahead)';
  return next;
  v_n := app.ensure_monthly_partitions('audit.log', 1, 3);
  task := 'partitions audit.log'; result := v_n || ' monthly partitions present (1 back, 3 ahead)';
  return next;
  for v_r in select * from app.purge_expired_data(false) loop
    task := 'purge ' || v_r.item; result := v_r.rows_affected || ' removed';
    return next;
  end loop;
end
$fn$;

comment on function app.run_maintenance() is
  'Daily housekeeping: monthly partitions ahead (appointments 18 months, audit log 3 months) and the retention purge. Run as the owner (pg_cron job phi-db-maintenance where available).';

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

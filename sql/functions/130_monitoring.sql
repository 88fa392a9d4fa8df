-- functions/130_monitoring.sql
-- What: helpers of the monitoring views in schema logs (sql/views/logs_*.sql).
--   logs.sampled_row_width(table)  average stored size of a row (tuple header + data, as on disk,
--       compressed/TOAST pointers included) over the first 1,000 rows the caller can see. Used by
--       logs.bloat_estimate when the planner statistics are hidden from the caller: pg_stats shows
--       no column of a table whose row-level security applies to the caller, and RLS is FORCED on every
--       managed table, for the owner too. Reads at most 1,000 rows per table; NULL when the caller may
--       not read the table.
-- SECURITY INVOKER, executable by the owner only (the access model grants no function in logs):
-- operators run the monitoring views as the owner or as the master user.

create or replace function logs.sampled_row_width(p_table regclass)
returns numeric
language plpgsql
stable
set search_path = ''
as $fn$
declare
  v_width numeric;
begin
  execute format('select avg(pg_catalog.pg_column_size(s.*)) from (select * from %s limit 1000) s', p_table) into v_width;
  return v_width;
exception when insufficient_privilege then
  return null;
end
$fn$;

comment on function logs.sampled_row_width(regclass) is
  'Average on-disk row size (header + data) over the first 1,000 rows the caller can see; NULL when the table is not readable. Used by logs.bloat_estimate when planner statistics are hidden by row-level security.';

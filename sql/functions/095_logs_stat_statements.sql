-- functions/095_logs_stat_statements.sql
-- What: logs.stat_statements(), a guarded reader of pg_stat_statements for the view
-- logs.slow_queries (sql/views). It returns no rows instead of failing when the extension is not
-- installed, lives in another schema, is not in shared_preload_libraries ("must be loaded via
-- shared_preload_libraries", SQLSTATE 55000) or is not readable by the caller. Query texts of other
-- users show as '<insufficient privilege>' unless the caller has pg_read_all_stats.
-- Columns are those of pg_stat_statements 1.10/1.11 (PostgreSQL 15-17).

create or replace function logs.stat_statements()
returns table (
  queryid          bigint,
  query            text,
  calls            bigint,
  total_exec_time  double precision,
  mean_exec_time   double precision,
  rows             bigint,
  shared_blks_hit  bigint,
  shared_blks_read bigint)
language plpgsql
stable
set search_path = ''
as $fn$
declare
  v_schema name;
begin
  select n.nspname into v_schema
    from pg_catalog.pg_extension e join pg_catalog.pg_namespace n on n.oid = e.extnamespace
   where e.extname = 'pg_stat_statements';
  if v_schema is null then
    return;
  end if;
  begin
    return query execute format(
      'select s.queryid, s.query, s.calls, s.total_exec_time, s.mean_exec_time, s.rows, s.shared_blks_hit, s.shared_blks_read
         from %I.pg_stat_statements s', v_schema);
  exception
    when object_not_in_prerequisite_state or insufficient_privilege or undefined_table or undefined_column or undefined_function then
      return;
  end;
end
$fn$;

comment on function logs.stat_statements() is
  'pg_stat_statements rows (15-17 column names), or no rows when the extension is missing, not preloaded or not readable.';

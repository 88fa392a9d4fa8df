-- views/logs_top_queries.sql
-- What: logs.top_queries, the 50 statements with the most total execution time (pg_stat_statements,
-- through the guarded logs.stat_statements(): empty, not an error, where the extension is not
-- loaded or not readable by the caller) and their share of the total. logs.slow_queries lists the
-- ones slow per call; this one what the server spends its time on. Query texts can contain literal
-- values (PHI): pg_stat_statements normalises constants to $n, but read it as an operator only.
-- security_invoker: the caller's own privileges apply.

create or replace view logs.top_queries with (security_invoker = true) as
select s.queryid,
       left(s.query, 2000)                                      as query,
       s.calls,
       round(s.total_exec_time::numeric, 1)                     as total_time_ms,
       round(s.mean_exec_time::numeric, 3)                      as mean_time_ms,
       s.rows,
       round((100 * s.total_exec_time / nullif(sum(s.total_exec_time) over (), 0))::numeric, 2) as percent_of_total,
       case when s.shared_blks_hit + s.shared_blks_read > 0
            then round(100.0 * s.shared_blks_hit / (s.shared_blks_hit + s.shared_blks_read), 2) end as cache_hit_percent
  from logs.stat_statements() s
 where s.calls > 0
 order by s.total_exec_time desc
 limit 50;

comment on view logs.top_queries is
  'The 50 statements with the most total execution time (pg_stat_statements; empty when not loaded or not readable), with their share of the total.';

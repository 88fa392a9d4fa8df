-- views/logs_slow_queries.sql
-- What: logs.slow_queries, statements whose mean execution time is at least 100 ms, from
-- pg_stat_statements through the guarded logs.stat_statements() (empty, not an error, where the
-- extension is not loaded). Column names follow the production guide's monitoring query
-- (SELECT * FROM logs.slow_queries ORDER BY mean_time_ms DESC).
-- security_invoker: the caller's own privileges apply (the migrator's views-invoker check).

create or replace view logs.slow_queries with (security_invoker = true) as
select s.queryid,
       left(s.query, 2000)                          as query,
       s.calls,
       round(s.total_exec_time::numeric, 3)         as total_time_ms,
       round(s.mean_exec_time::numeric, 3)          as mean_time_ms,
       s.rows,
       case when s.shared_blks_hit + s.shared_blks_read > 0
            then round(100.0 * s.shared_blks_hit / (s.shared_blks_hit + s.shared_blks_read), 2) end as cache_hit_percent
  from logs.stat_statements() s
 where s.calls > 0
   and s.mean_exec_time >= 100;

comment on view logs.slow_queries is 'Statements with a mean execution time of at least 100 ms (pg_stat_statements; empty when the extension is not loaded).';

-- views/logs_table_stats.sql
-- What: logs.table_stats, vacuum/bloat health of the platform's tables (the seeds' vw_table_stats),
-- with the dead-tuple ratio and total size, limited to the managed schemas.
-- security_invoker: the caller's own privileges apply.

create or replace view logs.table_stats with (security_invoker = true) as
select s.schemaname,
       s.relname,
       s.n_live_tup,
       s.n_dead_tup,
       case when s.n_live_tup + s.n_dead_tup > 0
            then round(100.0 * s.n_dead_tup / (s.n_live_tup + s.n_dead_tup), 2) end as dead_tuple_percent,
       s.last_vacuum,
       s.last_autovacuum,
       s.last_analyze,
       s.last_autoanalyze,
       pg_catalog.pg_total_relation_size(s.relid)                                    as total_bytes
  from pg_catalog.pg_stat_user_tables s
 where s.schemaname in ('tenant', 'app', 'audit', 'analytics', 'storage_meta', 'cache', 'logs');

comment on view logs.table_stats is 'Live/dead tuples, last (auto)vacuum/analyze and size of the managed schemas'' tables.';

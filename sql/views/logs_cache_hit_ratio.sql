-- views/logs_cache_hit_ratio.sql
-- What: logs.cache_hit_ratio, the share of block reads served from shared buffers since the
-- statistics were last reset: for the whole database, and for the heap, the indexes and the TOAST
-- data of the managed schemas' tables. Below ~99 % on a steady OLTP load usually means shared_buffers
-- (RDS: the instance class) is too small for the working set. Seed: "check cache hit rates" (the
-- production guide measured its application cache; cache.analysis_results keeps hit_count for that).
-- security_invoker: the caller's own privileges apply.

create or replace view logs.cache_hit_ratio with (security_invoker = true) as
with t as (
  select coalesce(sum(s.heap_blks_hit), 0)  as heap_hit,  coalesce(sum(s.heap_blks_read), 0)  as heap_read,
         coalesce(sum(s.idx_blks_hit), 0)   as idx_hit,   coalesce(sum(s.idx_blks_read), 0)   as idx_read,
         coalesce(sum(s.toast_blks_hit), 0) as toast_hit, coalesce(sum(s.toast_blks_read), 0) as toast_read
    from pg_catalog.pg_statio_user_tables s
   where s.schemaname in ('tenant', 'app', 'audit', 'analytics', 'analytics_private', 'storage_meta', 'cache', 'logs')
),
ratios (scope, blocks_hit, blocks_read) as (
  select 'database', d.blks_hit, d.blks_read from pg_catalog.pg_stat_database d where d.datname = pg_catalog.current_database()
  union all select 'tables (heap)', t.heap_hit, t.heap_read from t
  union all select 'indexes', t.idx_hit, t.idx_read from t
  union all select 'toast', t.toast_hit, t.toast_read from t
)
select r.scope,
       r.blocks_hit::bigint  as blocks_hit,
       r.blocks_read::bigint as blocks_read,
       case when r.blocks_hit + r.blocks_read > 0
            then round(100.0 * r.blocks_hit / (r.blocks_hit + r.blocks_read), 2) end as hit_percent
  from ratios r;

comment on view logs.cache_hit_ratio is
  'Shared-buffer hit percentage since the last statistics reset: database, and heap / indexes / TOAST of the managed schemas.';

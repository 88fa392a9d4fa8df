-- views/logs_index_usage.sql
-- What: logs.index_usage, how often each index of the managed schemas (and of the materialized
-- views) was used since the statistics were last reset, with its size. unused_candidate marks
-- indexes never scanned that enforce nothing (not unique, not primary key, not an exclusion
-- constraint): candidates to drop after a representative period, never automatically. Indexes of
-- partitions are listed per partition. Seed: "verify indexes are being used".
-- security_invoker: the caller's own privileges apply.

create or replace view logs.index_usage with (security_invoker = true) as
select s.schemaname                                   as schema_name,
       s.relname                                      as table_name,
       s.indexrelname                                 as index_name,
       s.idx_scan,
       s.idx_tup_read,
       s.idx_tup_fetch,
       pg_catalog.pg_relation_size(s.indexrelid)      as index_bytes,
       pg_catalog.pg_size_pretty(pg_catalog.pg_relation_size(s.indexrelid)) as index_size,
       i.indisunique                                  as is_unique,
       i.indisprimary                                 as is_primary,
       i.indisvalid                                   as is_valid,
       s.idx_scan = 0 and not i.indisunique and not i.indisprimary
         and not exists (select from pg_catalog.pg_constraint k where k.conindid = s.indexrelid) as unused_candidate
  from pg_catalog.pg_stat_user_indexes s
  join pg_catalog.pg_index i on i.indexrelid = s.indexrelid
 where s.schemaname in ('tenant', 'app', 'audit', 'analytics', 'analytics_private', 'storage_meta', 'cache', 'logs');

comment on view logs.index_usage is
  'Index scans, tuples read/fetched and size per index of the managed schemas since the last statistics reset; unused_candidate = never scanned and enforcing nothing.';

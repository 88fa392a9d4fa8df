-- views/logs_partition_sizes.sql
-- What: logs.partition_sizes, every partition of the partitioned tables in the managed schemas
-- (app.appointments, audit.log, audit.log_archive): its bounds, whether it is the DEFAULT partition,
-- estimated rows (planner statistics; NULL before the first ANALYZE) and sizes. Seed: the production
-- guide's "check partition sizes" query. Bounds are shown in the session's TimeZone.
-- security_invoker: the caller's own privileges apply (sizes and statistics are not PHI).

create or replace view logs.partition_sizes with (security_invoker = true) as
select pn.nspname                                          as parent_schema,
       pc.relname                                          as parent_table,
       n.nspname                                           as partition_schema,
       c.relname                                           as partition_name,
       pg_catalog.pg_get_expr(c.relpartbound, c.oid)       as bounds,
       pt.partdefid = c.oid                                as is_default,
       case when c.reltuples >= 0 then c.reltuples::bigint end as estimated_rows,
       pg_catalog.pg_relation_size(c.oid)                  as table_bytes,
       pg_catalog.pg_indexes_size(c.oid)                   as index_bytes,
       pg_catalog.pg_total_relation_size(c.oid)            as total_bytes,
       pg_catalog.pg_size_pretty(pg_catalog.pg_total_relation_size(c.oid)) as total_size
  from pg_catalog.pg_partitioned_table pt
  join pg_catalog.pg_class pc     on pc.oid = pt.partrelid
  join pg_catalog.pg_namespace pn on pn.oid = pc.relnamespace
  join pg_catalog.pg_inherits i   on i.inhparent = pt.partrelid
  join pg_catalog.pg_class c      on c.oid = i.inhrelid
  join pg_catalog.pg_namespace n  on n.oid = c.relnamespace
 where pn.nspname in ('tenant', 'app', 'audit', 'analytics', 'storage_meta', 'cache', 'logs');

comment on view logs.partition_sizes is
  'Partitions of the partitioned tables (appointments, audit log, audit archive): bounds, default or not, estimated rows and sizes.';

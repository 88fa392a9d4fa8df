-- views/logs_bloat_estimate.sql
-- What: logs.bloat_estimate, an ESTIMATE of wasted space (dead tuples not yet reused, free space
-- left by updates/deletes) per table and materialized view of the managed schemas. It compares the
-- pages the table occupies with the pages its live rows would need, computed from the planner
-- statistics (pg_class.reltuples, pg_stats null_frac/avg_width, fillfactor, tuple and page headers):
-- the approach of the widely used ioguix/pgsql-bloat-estimation query, without reading the table.
-- It is only as fresh as the last ANALYZE (reltuples). The row width comes from pg_stats when the
-- caller may see them; pg_stats hides every column of a table whose row-level security applies to the
-- caller (RLS is forced on every managed table, for the owner too), and then the width is measured on
-- up to 1,000 rows (logs.sampled_row_width, functions/130). estimate_source says which;
-- `reliable` is false for a table never analyzed. Exact figures: pgstattuple (not installed).
-- A large bloat_percent on a big table that autovacuum keeps up with is normal after mass deletes;
-- it matters when it keeps growing (see also logs.table_stats: dead tuples, last autovacuum).
-- security_invoker: the caller's own privileges apply.

create or replace view logs.bloat_estimate with (security_invoker = true) as
with attributes as (
  select c.oid,
         n.nspname                                                         as schema_name,
         c.relname                                                         as table_name,
         c.relkind,
         c.reltuples::numeric                                              as reltuples,
         c.relpages,
         coalesce(t.relpages, 0)                                           as toast_pages,
         coalesce(t.reltuples, 0)::numeric                                 as toast_tuples,
         coalesce(substring(pg_catalog.array_to_string(c.reloptions, ' ') from 'fillfactor=([0-9]+)')::int, 100) as fill_factor,
         pg_catalog.current_setting('block_size')::numeric                 as block_size,
         -- tuple header (23 bytes) + null bitmap when a column can be NULL
         23 + case when max(coalesce(s.null_frac, 0)) > 0 then (7 + count(a.attname)) / 8 else 0 end as header_bytes,
         sum((1 - coalesce(s.null_frac, 0)::numeric) * coalesce(s.avg_width, 0)) as data_bytes,
         count(a.attname) = count(s.attname)                               as has_statistics
    from pg_catalog.pg_class c
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
    left join pg_catalog.pg_stats s on s.schemaname = n.nspname and s.tablename = c.relname and s.attname = a.attname and not s.inherited
    left join pg_catalog.pg_class t on t.oid = c.reltoastrelid
   where c.relkind in ('r', 'm')
     and n.nspname in ('tenant', 'app', 'audit', 'analytics', 'analytics_private', 'storage_meta', 'cache', 'logs')
   group by c.oid, n.nspname, c.relname, c.relkind, c.reltuples, c.relpages, t.relpages, t.reltuples
),
sizes as (
  select a.*,
         -- row size aligned to 8 bytes (MAXALIGN), plus its 4-byte line pointer
         4 + coalesce(case when a.has_statistics
                           then 8 * ceil(a.header_bytes / 8.0) + 8 * ceil(a.data_bytes / 8.0)
                           else 8 * ceil((select logs.sampled_row_width(a.oid)) / 8.0) end, 32) as tuple_bytes,
         case when a.reltuples < 0 then 'not analyzed'
              when a.has_statistics then 'planner statistics'
              else 'sampled rows' end                                      as estimate_source,
         a.relpages + a.toast_pages                                        as pages
    from attributes a
),
estimate as (
  select s.*,
         ceil(greatest(s.reltuples, 0) / greatest(floor((s.block_size - 24) * s.fill_factor / 100 / s.tuple_bytes), 1))
           + ceil(s.toast_tuples / 4)                                      as expected_pages
    from sizes s
)
select e.schema_name,
       e.table_name,
       case e.relkind when 'm' then 'materialized view' else 'table' end  as kind,
       case when e.reltuples >= 0 then e.reltuples::bigint end           as estimated_rows,
       (e.pages * e.block_size)::bigint                                  as actual_bytes,
       (least(e.expected_pages, e.pages) * e.block_size)::bigint         as expected_bytes,
       (greatest(e.pages - e.expected_pages, 0) * e.block_size)::bigint  as bloat_bytes,
       case when e.pages > 0 then round(100 * greatest(e.pages - e.expected_pages, 0) / e.pages, 1) else 0 end as bloat_percent,
       e.fill_factor,
       e.estimate_source,
       e.reltuples >= 0                                                  as reliable
  from estimate e;

comment on view logs.bloat_estimate is
  'Estimated wasted space per table / materialized view of the managed schemas: pages used vs pages the live rows (reltuples, last ANALYZE) need at their width (pg_stats, or measured on up to 1,000 rows when RLS hides the statistics); reliable = analyzed.';

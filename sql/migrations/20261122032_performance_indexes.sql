-- 20261122032_performance_indexes.sql
-- What: the seeds' "GiST indexes for date range queries" on the partitioned appointments table.
--   * app.appointments_provider_during_idx  GiST on (provider_id, tstzrange(start_time, end_time))
--     for appointments that still occupy the provider (not cancelled / no-show): "is this provider
--     booked at any time between X and Y" (overlap, &&) and "what overlaps this slot" are answered
--     from the index instead of a start_time range plus a filter on end_time. btree_gist supplies the
--     uuid equality operator class (default operator classes are found whatever the search_path).
-- The other seed indexes already exist (see docs/README-performance.md, "Indexes"):
--   appointments_provider_scheduled_idx, waitlist_entries_matching_idx,
--   providers_telehealth_specialties_idx, patients_search_idx (+ patients_last_name_trgm_idx),
--   documents_*_idx. Indexes on tables that may already be large are in 20261122033 (CONCURRENTLY).
-- Why a transactional CREATE INDEX here: app.appointments is partitioned and PostgreSQL cannot build an
-- index CONCURRENTLY on a partitioned parent. The table ships in the same release (no production rows
-- yet). For a later index on a populated partitioned table: CREATE INDEX ... ON ONLY the parent, then
-- per partition CREATE INDEX CONCURRENTLY + ALTER INDEX parent_idx ATTACH PARTITION part_idx
-- (app.partitioned_index_statements() in sql/functions/120_performance_helpers.sql prints them).

create index if not exists appointments_provider_during_idx on app.appointments
  using gist (provider_id, tstzrange(start_time, end_time, '[)'))
  where status not in ('cancelled', 'no_show');

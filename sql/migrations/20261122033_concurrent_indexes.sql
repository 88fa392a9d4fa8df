-- phi-db:no-transaction
-- 20261122033_concurrent_indexes.sql
-- What: indexes on tables that can already be large when this ships, built with
-- CREATE INDEX CONCURRENTLY (writes continue during the build). The file runs statement by statement
-- outside a transaction; every statement is re-runnable (IF NOT EXISTS), and the first one drops an
-- INVALID leftover of these indexes (a concurrent build that failed half-way) so a re-run rebuilds it.
--   GIN on JSONB (seed: "GIN indexes for JSONB queries"), jsonb_path_ops (containment @> only, smaller
--   and faster than the default operator class):
--     analytics.metrics (dimensions)          dashboards filter metrics by dimension, e.g. {"modality": "telehealth"}
--     audit.security_events (details)         investigations: events about one share, key or partition
--   Cleanup indexes (seed: "cleanup indexes for expired data"): the retention purge deletes
--   `where coalesce(revoked_at, expires_at) < $1` (sql/functions/080_retention.sql); an index on
--   expires_at alone cannot serve that predicate, this expression index can:
--     app.share_tokens, tenant.oauth_access_tokens, tenant.oauth_refresh_tokens
--     app.healthcare_shares (expires_at) for live shares: the job that marks shares expired
--   Covering indexes for the RLS paths (seed: "composite indexes for RLS queries", "covering
--   indexes"): every policy resolves the caller's memberships / own patient records once per
--   statement (sql/policies/000_rls_helpers.sql); these answer it with an index-only scan:
--     tenant.organization_members (user_id) include (organization_id, user_type) where active
--     app.patients (profile_id) include (organization_id)

do $do$
declare
  v_index record;
begin
  for v_index in
    select i.indexrelid::regclass as idx
      from pg_catalog.pg_index i
      join pg_catalog.pg_class c on c.oid = i.indexrelid
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where not i.indisvalid
       and (n.nspname, c.relname) in (
             ('analytics', 'metrics_dimensions_gin_idx'), ('audit', 'security_events_details_gin_idx'),
             ('app', 'share_tokens_purge_idx'), ('tenant', 'oauth_access_tokens_purge_idx'),
             ('tenant', 'oauth_refresh_tokens_purge_idx'), ('app', 'healthcare_shares_live_expiry_idx'),
             ('tenant', 'organization_members_active_user_idx'), ('app', 'patients_profile_cover_idx'))
  loop
    raise notice 'dropping invalid index % left by an interrupted concurrent build', v_index.idx;
    execute format('drop index %s', v_index.idx);
  end loop;
end
$do$;

create index concurrently if not exists metrics_dimensions_gin_idx
  on analytics.metrics using gin (dimensions jsonb_path_ops);

create index concurrently if not exists security_events_details_gin_idx
  on audit.security_events using gin (details jsonb_path_ops);

create index concurrently if not exists share_tokens_purge_idx
  on app.share_tokens ((coalesce(revoked_at, expires_at)));

create index concurrently if not exists oauth_access_tokens_purge_idx
  on tenant.oauth_access_tokens ((coalesce(revoked_at, expires_at)));

create index concurrently if not exists oauth_refresh_tokens_purge_idx
  on tenant.oauth_refresh_tokens ((coalesce(revoked_at, expires_at)));

create index concurrently if not exists healthcare_shares_live_expiry_idx
  on app.healthcare_shares (expires_at) where status in ('active', 'paused');

create index concurrently if not exists organization_members_active_user_idx
  on tenant.organization_members (user_id) include (organization_id, user_type) where status = 'active';

create index concurrently if not exists patients_profile_cover_idx
  on app.patients (profile_id) include (organization_id) where profile_id is not null;

-- 20261122033_concurrent_indexes.down.sql: reverses 20261122033_concurrent_indexes.sql (local/dev only).
drop index if exists app.patients_profile_cover_idx;
drop index if exists tenant.organization_members_active_user_idx;
drop index if exists app.healthcare_shares_live_expiry_idx;
drop index if exists tenant.oauth_refresh_tokens_purge_idx;
drop index if exists tenant.oauth_access_tokens_purge_idx;
drop index if exists app.share_tokens_purge_idx;
drop index if exists audit.security_events_details_gin_idx;
drop index if exists analytics.metrics_dimensions_gin_idx;

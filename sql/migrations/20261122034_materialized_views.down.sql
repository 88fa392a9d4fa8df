-- phi-db:allow-destructive rolls back 20261122034_materialized_views in local/dev only: drops the materialized views (rebuildable from app data) and their private schema
-- 20261122034_materialized_views.down.sql: reverses 20261122034_materialized_views.sql.
drop materialized view if exists analytics.appointment_volume_monthly;
drop materialized view if exists analytics.mood_weekly;
drop materialized view if exists analytics_private.top_providers;
drop materialized view if exists analytics_private.organization_dashboard;
drop materialized view if exists analytics_private.patient_mood_summary;
drop materialized view if exists analytics_private.provider_availability;
drop schema if exists analytics_private;

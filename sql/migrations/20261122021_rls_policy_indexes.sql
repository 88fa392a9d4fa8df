-- 20261122021_rls_policy_indexes.sql
-- What: indexes on the columns the row-level security policies (sql/policies/) filter on, where no
-- existing index leads with that column (or only a partial one does):
--   * app.appointments (provider_id, start_time)    a provider's appointments (provider_select), in
--                                                   time order; the existing provider index is partial
--                                                   (status = 'scheduled').
--   * app.appointments (organization_id, start_time) an admin's view of the organization (admin_select).
--   * app.appointments (provider_id, patient_id) where status <> 'cancelled'
--                                                   app.rls_treated_patient_ids(): who a provider treats,
--                                                   answered from the index alone.
--   * app.patient_insights (patient_id)             the existing index is partial (not is_hidden).
--   * app.patient_consents (patient_id)             the existing lookup index is partial (not revoked).
--   * app.device_keys (user_id)                     the existing index is partial (active keys).
--   * app.crisis_access_grants (organization_id), app.waitlist_entries (organization_id),
--     tenant.api_keys (organization_id), tenant.oauth_access_tokens (organization_id),
--     tenant.oauth_refresh_tokens (organization_id)  admin policies by organization.
-- Why one transactional file and not CREATE INDEX CONCURRENTLY: app.appointments is partitioned and
-- PostgreSQL cannot build an index concurrently on a partitioned parent; the platform is not live
-- yet, so the other tables are small. Later indexes on large live tables go in a
-- `-- phi-db:no-transaction` file with CONCURRENTLY.

create index if not exists appointments_provider_start_idx on app.appointments (provider_id, start_time);
create index if not exists appointments_organization_start_idx on app.appointments (organization_id, start_time);
create index if not exists appointments_provider_patient_idx on app.appointments (provider_id, patient_id)
  where status <> 'cancelled';

create index if not exists patient_insights_patient_idx on app.patient_insights (patient_id);
create index if not exists patient_consents_patient_idx on app.patient_consents (patient_id);
create index if not exists device_keys_user_idx on app.device_keys (user_id);
create index if not exists crisis_access_grants_organization_idx on app.crisis_access_grants (organization_id);
create index if not exists waitlist_entries_organization_idx on app.waitlist_entries (organization_id);
create index if not exists api_keys_organization_all_idx on tenant.api_keys (organization_id);
create index if not exists oauth_access_tokens_organization_idx on tenant.oauth_access_tokens (organization_id);
create index if not exists oauth_refresh_tokens_organization_idx on tenant.oauth_refresh_tokens (organization_id);

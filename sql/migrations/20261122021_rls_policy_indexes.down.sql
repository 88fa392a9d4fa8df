-- 20261122021_rls_policy_indexes.down.sql
-- Reverts 20261122021: drops the indexes added for the row-level security policies (local/dev rollback only).

drop index if exists tenant.oauth_refresh_tokens_organization_idx;
drop index if exists tenant.oauth_access_tokens_organization_idx;
drop index if exists tenant.api_keys_organization_all_idx;
drop index if exists app.waitlist_entries_organization_idx;
drop index if exists app.crisis_access_grants_organization_idx;
drop index if exists app.device_keys_user_idx;
drop index if exists app.patient_consents_patient_idx;
drop index if exists app.patient_insights_patient_idx;
drop index if exists app.appointments_provider_patient_idx;
drop index if exists app.appointments_organization_start_idx;
drop index if exists app.appointments_provider_start_idx;

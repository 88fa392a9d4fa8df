-- policies/090_request_context_guard.sql
-- What: the seeds' IP allow-list and business-hours restrictions, as ONE optional RESTRICTIVE policy
-- (request_context_guard, for all commands, to authenticated) on every table a signed-in person can
-- reach. Restrictive policies are ANDed with the permissive ones: they can only take access away.
-- Switched on per stack by the stack config phi-db:requestGuard ({ipAllowlist: [...], businessHours:
-- {timezone, days, start, end}}), which every `phi-db up` / schema resource update writes as the rows
-- security.ip_allowlist / security.business_hours of tenant.instance_settings (app.on_schema_apply,
-- sql/functions/100); absent = off. With neither row the guard is true and costs one InitPlan per
-- statement. Why rows and not a ${name} placeholder in this file: the policy text stays the same in
-- every stack, and a change takes effect on the next statement, audited; see README.md, "Optional
-- restrictive guard". The evaluation lives in
-- app.rls_request_context_allowed() (policies/000_rls_helpers.sql); it fails closed on a malformed
-- setting. service_role (back-end jobs inside the VPC), auditor and analytics_reader are not guarded.

drop policy if exists request_context_guard on tenant.organizations;
create policy request_context_guard on tenant.organizations as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on tenant.organization_members;
create policy request_context_guard on tenant.organization_members as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on tenant.api_keys;
create policy request_context_guard on tenant.api_keys as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on tenant.api_key_usage;
create policy request_context_guard on tenant.api_key_usage as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on tenant.oauth_clients;
create policy request_context_guard on tenant.oauth_clients as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on tenant.oauth_access_tokens;
create policy request_context_guard on tenant.oauth_access_tokens as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on tenant.oauth_refresh_tokens;
create policy request_context_guard on tenant.oauth_refresh_tokens as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on tenant.oauth_scopes;
create policy request_context_guard on tenant.oauth_scopes as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.profiles;
create policy request_context_guard on app.profiles as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.patients;
create policy request_context_guard on app.patients as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.providers;
create policy request_context_guard on app.providers as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.patient_consents;
create policy request_context_guard on app.patient_consents as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.crisis_access_grants;
create policy request_context_guard on app.crisis_access_grants as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.appointment_slots;
create policy request_context_guard on app.appointment_slots as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.appointments;
create policy request_context_guard on app.appointments as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.waitlists;
create policy request_context_guard on app.waitlists as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.waitlist_entries;
create policy request_context_guard on app.waitlist_entries as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.conditions;
create policy request_context_guard on app.conditions as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.treatments;
create policy request_context_guard on app.treatments as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.trials;
create policy request_context_guard on app.trials as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.learning_resources;
create policy request_context_guard on app.learning_resources as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.mood_entries;
create policy request_context_guard on app.mood_entries as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.patient_food_log;
create policy request_context_guard on app.patient_food_log as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.patient_activity_log;
create policy request_context_guard on app.patient_activity_log as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.patient_learning_progress;
create policy request_context_guard on app.patient_learning_progress as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.measurements;
create policy request_context_guard on app.measurements as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.patient_condition_events;
create policy request_context_guard on app.patient_condition_events as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.patient_health_goals;
create policy request_context_guard on app.patient_health_goals as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.patient_insights;
create policy request_context_guard on app.patient_insights as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.patient_data_import_sources;
create policy request_context_guard on app.patient_data_import_sources as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.documents;
create policy request_context_guard on app.documents as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.ai_doctor_sessions;
create policy request_context_guard on app.ai_doctor_sessions as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.ai_doctor_sharing_permissions;
create policy request_context_guard on app.ai_doctor_sharing_permissions as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.encrypted_user_prefs;
create policy request_context_guard on app.encrypted_user_prefs as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.encrypted_cycle_data;
create policy request_context_guard on app.encrypted_cycle_data as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.healthcare_shares;
create policy request_context_guard on app.healthcare_shares as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.share_tokens;
create policy request_context_guard on app.share_tokens as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.device_keys;
create policy request_context_guard on app.device_keys as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.products;
create policy request_context_guard on app.products as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.orders;
create policy request_context_guard on app.orders as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.order_items;
create policy request_context_guard on app.order_items as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on app.cart_items;
create policy request_context_guard on app.cart_items as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on storage_meta.objects;
create policy request_context_guard on storage_meta.objects as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on storage_meta.object_chunks;
create policy request_context_guard on storage_meta.object_chunks as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on storage_meta.quotas;
create policy request_context_guard on storage_meta.quotas as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on cache.analysis_results;
create policy request_context_guard on cache.analysis_results as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

drop policy if exists request_context_guard on analytics.metrics;
create policy request_context_guard on analytics.metrics as restrictive for all to authenticated
  using ((select app.rls_request_context_allowed())) with check ((select app.rls_request_context_allowed()));

-- app.appointments is partitioned: copy the guard onto its existing partitions too.
select app.sync_partition_policies('app.appointments');

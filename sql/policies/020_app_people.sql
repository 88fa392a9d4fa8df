-- policies/020_app_people.sql
-- What: row-level security and table privileges for the people of schema app: profiles, patients,
-- providers, consents and crisis (break-glass) access grants. Schema app is never granted to service_role or anon
-- (zero-knowledge / no anonymous access), so every policy here is for authenticated.
--   profiles              a person reads, creates (sign-up) and edits their own profile; an admin reads
--                         the profiles of the members of the organization they administer.
--   patients              the patient their own record; a provider the patients they treat (and may
--                         update them); an admin the patients of their organization (registration);
--                         a crisis grantee the patient named by a valid grant. Nobody deletes through
--                         the API: erasure is app.erase_patient (owner runbook).
--   providers             the clinician directory of an organization: every active member reads it,
--                         admins maintain it.
--   patient_consents      the patient and the admin record and revoke consents; treating providers
--                         and the person a consent names read them.
--   crisis_access_grants  admins issue and revoke (at most 72 hours, CHECK); the grantee and the
--                         patient read them.
-- "Treat" = an appointment that is not cancelled with one of the caller's provider records
-- (app.rls_treated_patient_ids); see README.md, "Row-level security".
-- Grants and policies together: each table's privileges are set in this file, next to its policies:
-- `revoke all` from PUBLIC and every NOLOGIN role of the access model, then `grant` exactly the commands
-- a policy lets the role use (the migrator's checks fail on a privilege no policy backs and on a policy
-- whose privilege is missing). Re-running the file converges any database, whatever it held before.

-- app.profiles -------------------------------------------------------------------------------------
revoke all on app.profiles from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select, insert, update on app.profiles to authenticated;

drop policy if exists self_select on app.profiles;
create policy self_select on app.profiles for select to authenticated
  using (id = (select auth.uid()));

drop policy if exists self_insert on app.profiles;
create policy self_insert on app.profiles for insert to authenticated
  with check (id = (select auth.uid()));

drop policy if exists self_update on app.profiles;
create policy self_update on app.profiles for update to authenticated
  using (id = (select auth.uid()))
  with check (id = (select auth.uid()));

drop policy if exists admin_select on app.profiles;
create policy admin_select on app.profiles for select to authenticated
  using (id = any ((select tenant.rls_admin_member_ids())::uuid[]));

-- app.patients -------------------------------------------------------------------------------------
revoke all on app.patients from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select, insert, update on app.patients to authenticated;

drop policy if exists patient_select on app.patients;
create policy patient_select on app.patients for select to authenticated
  using (profile_id = (select auth.uid()));

drop policy if exists provider_select on app.patients;
create policy provider_select on app.patients for select to authenticated
  using (id = any ((select app.rls_treated_patient_ids())::uuid[]));

drop policy if exists provider_update on app.patients;
create policy provider_update on app.patients for update to authenticated
  using (id = any ((select app.rls_treated_patient_ids())::uuid[]))
  with check (id = any ((select app.rls_treated_patient_ids())::uuid[]) and organization_id = any ((select tenant.rls_org_ids(array['provider', 'admin']))::uuid[]));

drop policy if exists admin_select on app.patients;
create policy admin_select on app.patients for select to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));

drop policy if exists admin_insert on app.patients;
create policy admin_insert on app.patients for insert to authenticated
  with check (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));

drop policy if exists admin_update on app.patients;
create policy admin_update on app.patients for update to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]))
  with check (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));

drop policy if exists crisis_select on app.patients;
create policy crisis_select on app.patients for select to authenticated
  using (id = any ((select app.rls_crisis_patient_ids())::uuid[]));

-- app.providers ------------------------------------------------------------------------------------
revoke all on app.providers from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select, insert, update, delete on app.providers to authenticated;

drop policy if exists member_select on app.providers;
create policy member_select on app.providers for select to authenticated
  using (organization_id = any ((select tenant.rls_org_ids())::uuid[]));

drop policy if exists admin_insert on app.providers;
create policy admin_insert on app.providers for insert to authenticated
  with check (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));

drop policy if exists admin_update on app.providers;
create policy admin_update on app.providers for update to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]))
  with check (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));

drop policy if exists admin_delete on app.providers;
create policy admin_delete on app.providers for delete to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));

-- app.patient_consents -----------------------------------------------------------------------------
revoke all on app.patient_consents from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select, insert, update on app.patient_consents to authenticated;

drop policy if exists patient_select on app.patient_consents;
create policy patient_select on app.patient_consents for select to authenticated
  using (patient_id = any ((select app.rls_patient_ids())::uuid[]));

drop policy if exists patient_insert on app.patient_consents;
create policy patient_insert on app.patient_consents for insert to authenticated
  with check (patient_id = any ((select app.rls_patient_ids())::uuid[]));

drop policy if exists patient_update on app.patient_consents;
create policy patient_update on app.patient_consents for update to authenticated
  using (patient_id = any ((select app.rls_patient_ids())::uuid[]))
  with check (patient_id = any ((select app.rls_patient_ids())::uuid[]));

drop policy if exists provider_select on app.patient_consents;
create policy provider_select on app.patient_consents for select to authenticated
  using (patient_id = any ((select app.rls_treated_patient_ids())::uuid[]));

drop policy if exists grantee_select on app.patient_consents;
create policy grantee_select on app.patient_consents for select to authenticated
  using (granted_to = (select auth.uid()));

drop policy if exists admin_select on app.patient_consents;
create policy admin_select on app.patient_consents for select to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));

drop policy if exists admin_insert on app.patient_consents;
create policy admin_insert on app.patient_consents for insert to authenticated
  with check (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));

drop policy if exists admin_update on app.patient_consents;
create policy admin_update on app.patient_consents for update to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]))
  with check (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));

-- app.crisis_access_grants -------------------------------------------------------------------------
revoke all on app.crisis_access_grants from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select, insert, update on app.crisis_access_grants to authenticated;

drop policy if exists admin_select on app.crisis_access_grants;
create policy admin_select on app.crisis_access_grants for select to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));

drop policy if exists admin_insert on app.crisis_access_grants;
create policy admin_insert on app.crisis_access_grants for insert to authenticated
  with check (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]) and granted_by = (select auth.uid()));

drop policy if exists admin_update on app.crisis_access_grants;
create policy admin_update on app.crisis_access_grants for update to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]))
  with check (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));

drop policy if exists grantee_select on app.crisis_access_grants;
create policy grantee_select on app.crisis_access_grants for select to authenticated
  using (grantee_id = (select auth.uid()));

drop policy if exists patient_select on app.crisis_access_grants;
create policy patient_select on app.crisis_access_grants for select to authenticated
  using (patient_id = any ((select app.rls_patient_ids())::uuid[]));

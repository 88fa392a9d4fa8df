-- policies/030_app_scheduling.sql
-- What: row-level security and table privileges for scheduling: slots, appointments (partitioned),
-- waitlists and entries.
--   appointment_slots  every active member of the organization reads them (no patient in a slot);
--                      admins manage all of the organization's, providers their own.
--   appointments       the patient sees their own (every type); the provider the appointments they
--                      are the provider of (every type: they are the treating provider); an admin those
--                      of the organization EXCEPT psychotherapy; a person the patient consented to
--                      (psychotherapy_notes_access, until it expires or is revoked) the patient's
--                      psychotherapy appointments; a crisis grantee the crisis_intervention
--                      appointments covered by a valid grant (one patient, or the organization).
--                      Writes: admins (organization, except psychotherapy: an admin cannot write what
--                      they cannot read), providers (their own appointments, for patients they already
--                      treat: reassigning one to another patient would make them that patient's
--                      treating provider, so a live appointment keeps to patients they treat), patients
--                      (book for themselves, status scheduled; cancel).
--   waitlists          members read, admins manage.
--   waitlist_entries   the patient (join, update, e.g. withdraw), the treating providers (read), admins.
-- Every SELECT/UPDATE/DELETE arm on appointments filters on patient_id or provider_id (indexed, many
-- distinct values), never on organization_id: with the helpers' arrays unknown at plan time
-- (InitPlans), an organization_id arm looks like "the whole table" to the planner and turns a
-- patient's read into a scan (see README.md, "Row-level security cost", and bench/rls.js).
-- Partitions: a partition queried directly applies its OWN policies and checks its OWN privileges, so
-- the parent's policies and privileges are copied onto every existing partition after the policies
-- (app.sync_partition_policies). Partitions created later get the policies from
-- app.copy_partition_safeguards but no privilege until this file runs again: queried directly they
-- refuse every request role (through the parent they behave as any other partition).
-- Grants and policies together: each table's privileges are set in this file, next to its policies:
-- `revoke all` from PUBLIC and every NOLOGIN role of the access model, then `grant` exactly the commands
-- a policy lets the role use (the migrator's checks fail on a privilege no policy backs and on a policy
-- whose privilege is missing). Re-running the file converges any database, whatever it held before.

-- app.appointment_slots ----------------------------------------------------------------------------
revoke all on app.appointment_slots from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select, insert, update, delete on app.appointment_slots to authenticated;

drop policy if exists member_select on app.appointment_slots;
create policy member_select on app.appointment_slots for select to authenticated
  using (organization_id = any ((select tenant.rls_org_ids())::uuid[]));

drop policy if exists admin_insert on app.appointment_slots;
create policy admin_insert on app.appointment_slots for insert to authenticated
  with check (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));
drop policy if exists admin_update on app.appointment_slots;
create policy admin_update on app.appointment_slots for update to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]))
  with check (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));
drop policy if exists admin_delete on app.appointment_slots;
create policy admin_delete on app.appointment_slots for delete to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));

drop policy if exists provider_insert on app.appointment_slots;
create policy provider_insert on app.appointment_slots for insert to authenticated
  with check (provider_id = any ((select app.rls_provider_ids())::uuid[]));
drop policy if exists provider_update on app.appointment_slots;
create policy provider_update on app.appointment_slots for update to authenticated
  using (provider_id = any ((select app.rls_provider_ids())::uuid[]))
  with check (provider_id = any ((select app.rls_provider_ids())::uuid[]));
drop policy if exists provider_delete on app.appointment_slots;
create policy provider_delete on app.appointment_slots for delete to authenticated
  using (provider_id = any ((select app.rls_provider_ids())::uuid[]));

-- app.appointments (partitioned) -------------------------------------------------------------------
revoke all on app.appointments from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select, insert, update, delete on app.appointments to authenticated;

drop policy if exists patient_select on app.appointments;
create policy patient_select on app.appointments for select to authenticated
  using (patient_id = any ((select app.rls_patient_ids())::uuid[]));

drop policy if exists patient_insert on app.appointments;
create policy patient_insert on app.appointments for insert to authenticated
  with check (patient_id = any ((select app.rls_patient_ids())::uuid[]) and status = 'scheduled');

drop policy if exists patient_update on app.appointments;
create policy patient_update on app.appointments for update to authenticated
  using (patient_id = any ((select app.rls_patient_ids())::uuid[]) and status in ('scheduled', 'confirmed'))
  with check (patient_id = any ((select app.rls_patient_ids())::uuid[]) and status in ('scheduled', 'confirmed', 'cancelled'));

drop policy if exists provider_select on app.appointments;
create policy provider_select on app.appointments for select to authenticated
  using (provider_id = any ((select app.rls_provider_ids())::uuid[]));

drop policy if exists provider_insert on app.appointments;
create policy provider_insert on app.appointments for insert to authenticated
  with check (provider_id = any ((select app.rls_provider_ids())::uuid[]) and patient_id = any ((select app.rls_treated_patient_ids())::uuid[]));

drop policy if exists provider_update on app.appointments;
create policy provider_update on app.appointments for update to authenticated
  using (provider_id = any ((select app.rls_provider_ids())::uuid[]))
  with check (provider_id = any ((select app.rls_provider_ids())::uuid[])
              and (status = 'cancelled' or patient_id = any ((select app.rls_treated_patient_ids())::uuid[])));

drop policy if exists admin_select on app.appointments;
create policy admin_select on app.appointments for select to authenticated
  using (provider_id = any ((select app.rls_admin_provider_ids())::uuid[]) and appointment_type <> 'psychotherapy');

drop policy if exists admin_insert on app.appointments;
create policy admin_insert on app.appointments for insert to authenticated
  with check (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]) and appointment_type <> 'psychotherapy');

drop policy if exists admin_update on app.appointments;
create policy admin_update on app.appointments for update to authenticated
  using (provider_id = any ((select app.rls_admin_provider_ids())::uuid[]) and appointment_type <> 'psychotherapy')
  with check (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]) and appointment_type <> 'psychotherapy');

drop policy if exists admin_delete on app.appointments;
create policy admin_delete on app.appointments for delete to authenticated
  using (provider_id = any ((select app.rls_admin_provider_ids())::uuid[]) and appointment_type <> 'psychotherapy');

drop policy if exists psychotherapy_consent_select on app.appointments;
create policy psychotherapy_consent_select on app.appointments for select to authenticated
  using (appointment_type = 'psychotherapy' and patient_id = any ((select app.rls_psychotherapy_consent_patient_ids())::uuid[]));

drop policy if exists crisis_select on app.appointments;
create policy crisis_select on app.appointments for select to authenticated
  using (appointment_type = 'crisis_intervention' and patient_id = any ((select app.rls_crisis_patient_ids())::uuid[]));

select app.sync_partition_policies('app.appointments');

-- app.waitlists ------------------------------------------------------------------------------------
revoke all on app.waitlists from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select, insert, update, delete on app.waitlists to authenticated;

drop policy if exists member_select on app.waitlists;
create policy member_select on app.waitlists for select to authenticated
  using (organization_id = any ((select tenant.rls_org_ids())::uuid[]));

drop policy if exists admin_insert on app.waitlists;
create policy admin_insert on app.waitlists for insert to authenticated
  with check (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));
drop policy if exists admin_update on app.waitlists;
create policy admin_update on app.waitlists for update to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]))
  with check (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));
drop policy if exists admin_delete on app.waitlists;
create policy admin_delete on app.waitlists for delete to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));

-- app.waitlist_entries -----------------------------------------------------------------------------
revoke all on app.waitlist_entries from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select, insert, update, delete on app.waitlist_entries to authenticated;

drop policy if exists patient_select on app.waitlist_entries;
create policy patient_select on app.waitlist_entries for select to authenticated
  using (patient_id = any ((select app.rls_patient_ids())::uuid[]));
drop policy if exists patient_insert on app.waitlist_entries;
create policy patient_insert on app.waitlist_entries for insert to authenticated
  with check (patient_id = any ((select app.rls_patient_ids())::uuid[]) and status = 'active');
drop policy if exists patient_update on app.waitlist_entries;
create policy patient_update on app.waitlist_entries for update to authenticated
  using (patient_id = any ((select app.rls_patient_ids())::uuid[]))
  with check (patient_id = any ((select app.rls_patient_ids())::uuid[]));

drop policy if exists provider_select on app.waitlist_entries;
create policy provider_select on app.waitlist_entries for select to authenticated
  using (patient_id = any ((select app.rls_treated_patient_ids())::uuid[]));

drop policy if exists admin_select on app.waitlist_entries;
create policy admin_select on app.waitlist_entries for select to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));
drop policy if exists admin_insert on app.waitlist_entries;
create policy admin_insert on app.waitlist_entries for insert to authenticated
  with check (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));
drop policy if exists admin_update on app.waitlist_entries;
create policy admin_update on app.waitlist_entries for update to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]))
  with check (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));
drop policy if exists admin_delete on app.waitlist_entries;
create policy admin_delete on app.waitlist_entries for delete to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));

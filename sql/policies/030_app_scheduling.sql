-- policies/030_app_scheduling.sql
-- What: row-level security for scheduling: slots, appointments (partitioned), waitlists and entries.
--   appointment_slots  every active member of the organization reads them (no patient in a slot);
--                      admins manage all of the organization's, providers their own.
--   appointments       the patient sees their own (every type); the provider the appointments they
--                      are the provider of (every type: they are the treating provider); an admin those
--                      of the organization EXCEPT psychotherapy; a person the patient consented to
--                      (psychotherapy_notes_access, until it expires or is revoked) the patient's
--                      psychotherapy appointments; a crisis grantee the crisis_intervention
--                      appointments covered by a valid grant (one patient, or the organization).
--                      Writes: admins (organization), providers (their own appointments, for patients
--                      they already treat), patients (book for themselves, status scheduled; cancel).
--   waitlists          members read, admins manage.
--   waitlist_entries   the patient (join, update, e.g. withdraw), the treating providers (read), admins.
-- Every SELECT/UPDATE/DELETE arm on appointments filters on patient_id or provider_id (indexed, many
-- distinct values), never on organization_id: with the helpers' arrays unknown at plan time
-- (InitPlans), an organization_id arm looks like "the whole table" to the planner and turns a
-- patient's read into a scan (see docs/README-rls.md, bench/rls.js).
-- Partitions: a partition queried directly applies its OWN policies, so the parent's are copied onto
-- every existing partition at the end of this file (app.sync_partition_policies); partitions created
-- later copy them in app.copy_partition_safeguards.

-- app.appointment_slots ----------------------------------------------------------------------------

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
  with check (provider_id = any ((select app.rls_provider_ids())::uuid[]));

drop policy if exists admin_select on app.appointments;
create policy admin_select on app.appointments for select to authenticated
  using (provider_id = any ((select app.rls_admin_provider_ids())::uuid[]) and appointment_type <> 'psychotherapy');

drop policy if exists admin_insert on app.appointments;
create policy admin_insert on app.appointments for insert to authenticated
  with check (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));

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

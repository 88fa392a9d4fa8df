-- policies/070_operations.sql
-- What: row-level security for the operational schemas storage_meta, cache, logs and analytics.
--   storage_meta   the storage worker (service_role) registers, reads and removes object metadata of
--                  every organization and works the deletion queue; an organization's admins read
--                  its objects, chunks and quota (authenticated holds SELECT only in this schema).
--   cache          results about the organization as a whole: its admins and providers; results
--                  about one patient: that patient and the providers treating them; the back end
--                  (service_role) for every organization. cache.put_analysis_result needs
--                  SELECT + INSERT + UPDATE (ON CONFLICT DO UPDATE).
--   logs           the back end appends and reads performance logs; nobody else (plans can hold literals).
--   analytics      de-identified aggregates: an organization's admins see all of its metrics; its
--                  research partners and developers only cells with at least 11 subjects (small-cell
--                  suppression); the analytics_reader login (research partners' database access) sees
--                  every organization's cells with at least 11 subjects, nothing else in the database.

-- storage_meta.objects ------------------------------------------------------------------------------

drop policy if exists admin_select on storage_meta.objects;
create policy admin_select on storage_meta.objects for select to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));
drop policy if exists service_select on storage_meta.objects;
create policy service_select on storage_meta.objects for select to service_role using (true);
drop policy if exists service_insert on storage_meta.objects;
create policy service_insert on storage_meta.objects for insert to service_role with check (true);
drop policy if exists service_update on storage_meta.objects;
create policy service_update on storage_meta.objects for update to service_role using (true) with check (true);
drop policy if exists service_delete on storage_meta.objects;
create policy service_delete on storage_meta.objects for delete to service_role using (true);

-- storage_meta.object_chunks (follow their object) ----------------------------------------------

drop policy if exists admin_select on storage_meta.object_chunks;
create policy admin_select on storage_meta.object_chunks for select to authenticated
  using (object_id in (select o.id from storage_meta.objects o
                        where o.organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[])));
drop policy if exists service_select on storage_meta.object_chunks;
create policy service_select on storage_meta.object_chunks for select to service_role using (true);
drop policy if exists service_insert on storage_meta.object_chunks;
create policy service_insert on storage_meta.object_chunks for insert to service_role with check (true);
drop policy if exists service_update on storage_meta.object_chunks;
create policy service_update on storage_meta.object_chunks for update to service_role using (true) with check (true);
drop policy if exists service_delete on storage_meta.object_chunks;
create policy service_delete on storage_meta.object_chunks for delete to service_role using (true);

-- storage_meta.quotas ------------------------------------------------------------------------------

drop policy if exists admin_select on storage_meta.quotas;
create policy admin_select on storage_meta.quotas for select to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));
drop policy if exists service_select on storage_meta.quotas;
create policy service_select on storage_meta.quotas for select to service_role using (true);
drop policy if exists service_insert on storage_meta.quotas;
create policy service_insert on storage_meta.quotas for insert to service_role with check (true);
drop policy if exists service_update on storage_meta.quotas;
create policy service_update on storage_meta.quotas for update to service_role using (true) with check (true);

-- storage_meta.deletion_queue (the worker's; rows are purged by retention, not deleted by the worker) --

drop policy if exists service_select on storage_meta.deletion_queue;
create policy service_select on storage_meta.deletion_queue for select to service_role using (true);
drop policy if exists service_insert on storage_meta.deletion_queue;
create policy service_insert on storage_meta.deletion_queue for insert to service_role with check (true);
drop policy if exists service_update on storage_meta.deletion_queue;
create policy service_update on storage_meta.deletion_queue for update to service_role using (true) with check (true);

-- cache.analysis_results ---------------------------------------------------------------------------

drop policy if exists org_select on cache.analysis_results;
create policy org_select on cache.analysis_results for select to authenticated
  using (subject_patient_id is null and organization_id = any ((select tenant.rls_org_ids(array['admin', 'provider']))::uuid[]));
drop policy if exists org_insert on cache.analysis_results;
create policy org_insert on cache.analysis_results for insert to authenticated
  with check (subject_patient_id is null and organization_id = any ((select tenant.rls_org_ids(array['admin', 'provider']))::uuid[]));
drop policy if exists org_update on cache.analysis_results;
create policy org_update on cache.analysis_results for update to authenticated
  using (subject_patient_id is null and organization_id = any ((select tenant.rls_org_ids(array['admin', 'provider']))::uuid[]))
  with check (subject_patient_id is null and organization_id = any ((select tenant.rls_org_ids(array['admin', 'provider']))::uuid[]));
drop policy if exists org_delete on cache.analysis_results;
create policy org_delete on cache.analysis_results for delete to authenticated
  using (subject_patient_id is null and organization_id = any ((select tenant.rls_org_ids(array['admin', 'provider']))::uuid[]));

drop policy if exists patient_select on cache.analysis_results;
create policy patient_select on cache.analysis_results for select to authenticated
  using (subject_patient_id = any ((select app.rls_patient_ids())::uuid[]) or subject_patient_id = any ((select app.rls_treated_patient_ids())::uuid[]));
drop policy if exists patient_insert on cache.analysis_results;
create policy patient_insert on cache.analysis_results for insert to authenticated
  with check (subject_patient_id = any ((select app.rls_patient_ids())::uuid[]) or subject_patient_id = any ((select app.rls_treated_patient_ids())::uuid[]));
drop policy if exists patient_update on cache.analysis_results;
create policy patient_update on cache.analysis_results for update to authenticated
  using (subject_patient_id = any ((select app.rls_patient_ids())::uuid[]) or subject_patient_id = any ((select app.rls_treated_patient_ids())::uuid[]))
  with check (subject_patient_id = any ((select app.rls_patient_ids())::uuid[]) or subject_patient_id = any ((select app.rls_treated_patient_ids())::uuid[]));
drop policy if exists patient_delete on cache.analysis_results;
create policy patient_delete on cache.analysis_results for delete to authenticated
  using (subject_patient_id = any ((select app.rls_patient_ids())::uuid[]) or subject_patient_id = any ((select app.rls_treated_patient_ids())::uuid[]));

drop policy if exists service_select on cache.analysis_results;
create policy service_select on cache.analysis_results for select to service_role using (true);
drop policy if exists service_insert on cache.analysis_results;
create policy service_insert on cache.analysis_results for insert to service_role with check (true);
drop policy if exists service_update on cache.analysis_results;
create policy service_update on cache.analysis_results for update to service_role using (true) with check (true);
drop policy if exists service_delete on cache.analysis_results;
create policy service_delete on cache.analysis_results for delete to service_role using (true);

-- logs.performance_logs ----------------------------------------------------------------------------

drop policy if exists service_select on logs.performance_logs;
create policy service_select on logs.performance_logs for select to service_role using (true);
drop policy if exists service_insert on logs.performance_logs;
create policy service_insert on logs.performance_logs for insert to service_role with check (true);

-- analytics.metrics --------------------------------------------------------------------------------

drop policy if exists admin_select on analytics.metrics;
create policy admin_select on analytics.metrics for select to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));

drop policy if exists partner_select on analytics.metrics;
create policy partner_select on analytics.metrics for select to authenticated
  using (sample_size >= 11 and organization_id = any ((select tenant.rls_org_ids(array['research-partner', 'developer']))::uuid[]));

drop policy if exists reader_select on analytics.metrics;
create policy reader_select on analytics.metrics for select to analytics_reader
  using (sample_size >= 11);

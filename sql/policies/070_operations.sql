-- policies/070_operations.sql
-- What: row-level security and table privileges for the operational schemas storage_meta, cache,
-- logs and analytics.
--   storage_meta   the storage worker (service_role) registers, reads and removes object metadata of
--                  every organization and works the deletion queue; an organization's admins read
--                  its objects, chunks and quota (authenticated holds SELECT only in this schema).
--                  The worker's UPDATE check compares the new row with the stored one: a row never
--                  moves to another organization (a chunk never to another object).
--   cache          results about the organization as a whole: its admins and providers; results
--                  about one patient: that patient and the providers treating them; the back end
--                  (service_role) for every organization, never moving a result to another one.
--                  cache.put_analysis_result needs SELECT + INSERT + UPDATE (ON CONFLICT DO UPDATE).
--   logs           the back end appends and reads performance logs; nobody else (plans can hold literals).
--                  The monitoring views (sql/views) are for operators, who read them as the owner.
--   analytics      de-identified aggregates: an organization's admins see all of its metrics; its
--                  research partners and developers only cells with at least 11 subjects (small-cell
--                  suppression); the analytics_reader login (research partners' database access) sees
--                  every organization's cells with at least 11 subjects, nothing else in the database.
-- Grants and policies together: each table's privileges are set in this file, next to its policies:
-- `revoke all` from PUBLIC and every NOLOGIN role of the access model, then `grant` exactly the commands
-- a policy lets the role use (the migrator's checks fail on a privilege no policy backs and on a policy
-- whose privilege is missing). Re-running the file converges any database, whatever it held before.

-- storage_meta.objects ------------------------------------------------------------------------------
revoke all on storage_meta.objects from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select on storage_meta.objects to authenticated;
grant select, insert, update, delete on storage_meta.objects to service_role;

drop policy if exists admin_select on storage_meta.objects;
create policy admin_select on storage_meta.objects for select to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));
drop policy if exists service_select on storage_meta.objects;
create policy service_select on storage_meta.objects for select to service_role using (true);
drop policy if exists service_insert on storage_meta.objects;
create policy service_insert on storage_meta.objects for insert to service_role with check (true);
drop policy if exists service_update on storage_meta.objects;
create policy service_update on storage_meta.objects for update to service_role using (true)
  with check (organization_id = (select o.organization_id from storage_meta.objects o where o.id = objects.id));
drop policy if exists service_delete on storage_meta.objects;
create policy service_delete on storage_meta.objects for delete to service_role using (true);

-- storage_meta.object_chunks (follow their object) ----------------------------------------------
revoke all on storage_meta.object_chunks from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select on storage_meta.object_chunks to authenticated;
grant select, insert, update, delete on storage_meta.object_chunks to service_role;

drop policy if exists admin_select on storage_meta.object_chunks;
create policy admin_select on storage_meta.object_chunks for select to authenticated
  using (object_id in (select o.id from storage_meta.objects o
                        where o.organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[])));
drop policy if exists service_select on storage_meta.object_chunks;
create policy service_select on storage_meta.object_chunks for select to service_role using (true);
drop policy if exists service_insert on storage_meta.object_chunks;
create policy service_insert on storage_meta.object_chunks for insert to service_role with check (true);
drop policy if exists service_update on storage_meta.object_chunks;
create policy service_update on storage_meta.object_chunks for update to service_role using (true)
  with check (object_id = (select c.object_id from storage_meta.object_chunks c where c.id = object_chunks.id));
drop policy if exists service_delete on storage_meta.object_chunks;
create policy service_delete on storage_meta.object_chunks for delete to service_role using (true);

-- storage_meta.quotas ------------------------------------------------------------------------------
revoke all on storage_meta.quotas from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select on storage_meta.quotas to authenticated;
grant select, insert, update on storage_meta.quotas to service_role;

drop policy if exists admin_select on storage_meta.quotas;
create policy admin_select on storage_meta.quotas for select to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));
drop policy if exists service_select on storage_meta.quotas;
create policy service_select on storage_meta.quotas for select to service_role using (true);
drop policy if exists service_insert on storage_meta.quotas;
create policy service_insert on storage_meta.quotas for insert to service_role with check (true);
drop policy if exists service_update on storage_meta.quotas;
create policy service_update on storage_meta.quotas for update to service_role using (true)
  with check (organization_id = (select q.organization_id from storage_meta.quotas q where q.id = quotas.id));

-- storage_meta.deletion_queue (the worker's; rows are purged by retention, not deleted by the worker) --
revoke all on storage_meta.deletion_queue from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select, insert, update on storage_meta.deletion_queue to service_role;

drop policy if exists service_select on storage_meta.deletion_queue;
create policy service_select on storage_meta.deletion_queue for select to service_role using (true);
drop policy if exists service_insert on storage_meta.deletion_queue;
create policy service_insert on storage_meta.deletion_queue for insert to service_role with check (true);
drop policy if exists service_update on storage_meta.deletion_queue;
create policy service_update on storage_meta.deletion_queue for update to service_role using (true)
  with check (organization_id = (select d.organization_id from storage_meta.deletion_queue d where d.id = deletion_queue.id));

-- cache.analysis_results ---------------------------------------------------------------------------
revoke all on cache.analysis_results from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select, insert, update, delete on cache.analysis_results to authenticated;
grant select, insert, update, delete on cache.analysis_results to service_role;

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
create policy service_update on cache.analysis_results for update to service_role using (true)
  with check (organization_id = (select r.organization_id from cache.analysis_results r where r.id = analysis_results.id));
drop policy if exists service_delete on cache.analysis_results;
create policy service_delete on cache.analysis_results for delete to service_role using (true);

-- logs.performance_logs ----------------------------------------------------------------------------
-- Every relation of schema logs gets its privileges here: first none at all (the monitoring views of
-- sql/views, logs.table_stats, logs.top_queries ..., are for operators, who read them as the owner:
-- query texts and plans can hold literal values), then the back end's on the one table.
revoke all on all tables in schema logs from public, anon, authenticated, service_role, auditor, analytics_reader;
revoke all on logs.performance_logs from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select, insert on logs.performance_logs to service_role;

drop policy if exists service_select on logs.performance_logs;
create policy service_select on logs.performance_logs for select to service_role using (true);
drop policy if exists service_insert on logs.performance_logs;
create policy service_insert on logs.performance_logs for insert to service_role with check (true);

-- analytics.metrics --------------------------------------------------------------------------------
revoke all on analytics.metrics from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select on analytics.metrics to authenticated;
grant select on analytics.metrics to analytics_reader;

drop policy if exists admin_select on analytics.metrics;
create policy admin_select on analytics.metrics for select to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));

drop policy if exists partner_select on analytics.metrics;
create policy partner_select on analytics.metrics for select to authenticated
  using (sample_size >= 11 and organization_id = any ((select tenant.rls_org_ids(array['research-partner', 'developer']))::uuid[]));

drop policy if exists reader_select on analytics.metrics;
create policy reader_select on analytics.metrics for select to analytics_reader
  using (sample_size >= 11);

-- analytics.mood_weekly, analytics.appointment_volume_monthly (materialized views) -------------------
-- Materialized views carry no policies: whoever may SELECT one sees all of it, so only de-identified
-- ones live in this schema (every row covers at least 11 patients; migration 20261122034) and their
-- privilege is the whole access decision. Signed-in users and research partners read them.
revoke all on analytics.mood_weekly, analytics.appointment_volume_monthly from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select on analytics.mood_weekly, analytics.appointment_volume_monthly to authenticated, analytics_reader;

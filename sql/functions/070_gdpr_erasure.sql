-- functions/070_gdpr_erasure.sql
-- What: app.erase_patient(patient, request_reference, reason, erase_profile) removes a patient's
-- data (GDPR Art. 17 / "GDPR-compliant data deletion" of the production guide) while keeping the
-- evidence auditors need:
--   1. queues the S3 objects (documents, AI transcripts) in storage_meta.deletion_queue for the
--      storage worker (the database cannot delete S3 objects itself);
--   2. deletes the patient's rows table by table (counting them) and then the patient record; every
--      delete goes through the audit triggers (audit.log_statement), so the hash chain records the erasure like any write
--      and stays valid (entries hold ids and field names, never values);
--   3. optionally deletes the person's profile when no other organization still has them as a
--      patient (cascading to memberships, zero-knowledge data, shares, device keys, tokens);
--   4. refreshes every materialized view marked as holding PHI (its comment starts with 'PHI:':
--      analytics_private.patient_mood_summary, one row per patient, and
--      analytics_private.organization_dashboard, whose per-organization mood and patient figures can
--      single a patient out in a small organization): a materialized view is a copy that no DELETE
--      reaches, so without this the patient's figures would outlive the erasure until the next
--      scheduled refresh (never, where no pg_cron runs). REFRESH ... CONCURRENTLY, inside this
--      transaction (it may run in one; only CREATE INDEX CONCURRENTLY may not): readers are not
--      blocked, the refresh commits or rolls back with the erasure, and it sees the erasure's own
--      deletes. It takes the advisory lock app.refresh_materialized_views() uses, waiting for a
--      running refresh to finish first; a scheduled refresh that starts while the erasure is open
--      skips (it would otherwise compute from a snapshot that still holds the patient and put the
--      rows back once the erasure commits). Cost: one full recomputation of those views per erasure
--      (an erasure is a rare, manual runbook step); the de-identified views of schema analytics
--      (k >= 11, no person) and the private ones without patient figures wait for the schedule;
--   5. writes a receipt to audit.erasure_log and a security event.
-- What is kept, on purpose (GDPR Art. 17(3)(b),(e): legal obligation / claims; HIPAA six-year
-- documentation): the pseudonymous patient/profile ids inside audit entries, field names, hashed
-- IPs. Once the patient row is gone nothing links those ids to a person.
-- SECURITY INVOKER: effective only with the owner's row access (a privacy officer runs it via an
-- operator session, SET ROLE phi_owner). Everything happens in the caller's transaction: all or
-- nothing.

create or replace function app.erase_patient(
  p_patient_id        uuid,
  p_request_reference text,
  p_reason            text default 'gdpr_art17',
  p_erase_profile     boolean default true)
returns table (table_name text, rows_deleted bigint)
language plpgsql
volatile
set search_path = ''
as $fn$
#variable_conflict use_column
declare
  v_org     uuid;
  v_profile uuid;
  v_counts  jsonb := '{}';
  v_queued  integer := 0;
  v_n       bigint;
  v_item    record;
  v_objects uuid[];
  v_receipt uuid;
  v_mv      record;
  v_left    bigint;
begin
  select p.organization_id, p.profile_id into v_org, v_profile
    from app.patients p where p.id = p_patient_id for update;
  if v_org is null then
    raise exception 'patient % not found', p_patient_id using errcode = 'no_data_found';
  end if;
  if p_request_reference is null or length(btrim(p_request_reference)) = 0 then
    raise exception 'an erasure needs the reference of the request it fulfils' using errcode = 'invalid_parameter_value';
  end if;

  -- Before deleting anything: no materialized-view refresh may run between our deletes and our
  -- commit (see 4.). Waits while a scheduled refresh is running; released at commit or rollback.
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('phi-db:refresh_materialized_views'));

  -- 1. S3 objects: documents and AI transcripts of this patient.
  insert into storage_meta.deletion_queue (organization_id, bucket_kind, object_key, reason)
  select d.organization_id, 'documents', d.s3_key, 'gdpr_erasure' from app.documents d where d.patient_id = p_patient_id;
  get diagnostics v_n = row_count;
  v_queued := v_queued + v_n;
  select array_agg(s.transcript_object_id) into v_objects
    from app.ai_doctor_sessions s where s.patient_id = p_patient_id and s.transcript_object_id is not null;
  insert into storage_meta.deletion_queue (organization_id, bucket_kind, object_key, reason)
  select o.organization_id, o.bucket_kind, o.object_key, 'gdpr_erasure' from storage_meta.objects o where o.id = any (v_objects);
  get diagnostics v_n = row_count;
  v_queued := v_queued + v_n;

  -- 2. The patient's rows, children before parents (cascades would do it too; explicit deletes
  --    give the receipt its counts).
  for v_item in
    select * from (values
      (1,  'app.measurements',                 'patient_id'),
      (2,  'app.mood_entries',                 'patient_id'),
      (3,  'app.patient_food_log',             'patient_id'),
      (4,  'app.patient_activity_log',         'patient_id'),
      (5,  'app.patient_condition_events',     'patient_id'),
      (6,  'app.patient_insights',             'patient_id'),
      (7,  'app.patient_health_goals',         'patient_id'),
      (8,  'app.patient_learning_progress',    'patient_id'),
      (9,  'app.ai_doctor_sharing_permissions', null),
      (10, 'app.ai_doctor_sessions',           'patient_id'),
      (11, 'app.waitlist_entries',             'patient_id'),
      (12, 'app.appointments',                 'patient_id'),
      (13, 'app.patient_consents',             'patient_id'),
      (14, 'app.crisis_access_grants',         'patient_id'),
      (15, 'app.documents',                    'patient_id'),
      (16, 'app.cart_items',                   'patient_id'),
      (17, 'app.order_items',                  null),
      (18, 'app.orders',                       'patient_id'),
      (19, 'app.patient_data_import_sources',  'patient_id'),
      (20, 'tenant.oauth_refresh_tokens',      'launch_patient_id'),
      (21, 'tenant.oauth_access_tokens',       'launch_patient_id'),
      (22, 'cache.analysis_results',           'subject_patient_id')
    ) as t(ord, tbl, col)
    order by ord
  loop
    if v_item.tbl = 'app.ai_doctor_sharing_permissions' then
      delete from app.ai_doctor_sharing_permissions sp
       using app.ai_doctor_sessions s
       where sp.session_id = s.id and s.patient_id = p_patient_id;
    elsif v_item.tbl = 'app.order_items' then
      delete from app.order_items oi
       using app.orders o
       where oi.order_id = o.id and o.patient_id = p_patient_id;
    else
      execute format('delete from %s where %I = $1', v_item.tbl, v_item.col) using p_patient_id;
    end if;
    get diagnostics v_n = row_count;
    v_counts := v_counts || jsonb_build_object(v_item.tbl, v_n);
  end loop;

  delete from storage_meta.objects o
   where o.id = any (v_objects)
     and not exists (select from app.ai_doctor_sessions s where s.transcript_object_id = o.id);
  get diagnostics v_n = row_count;
  v_counts := v_counts || jsonb_build_object('storage_meta.objects', v_n);

  delete from app.patients p where p.id = p_patient_id;
  v_counts := v_counts || jsonb_build_object('app.patients', 1);

  -- 3. The person's account, unless another organization still treats them.
  if p_erase_profile and v_profile is not null
     and not exists (select from app.patients p where p.profile_id = v_profile) then
    delete from app.profiles pr where pr.id = v_profile;
    get diagnostics v_n = row_count;
    v_counts := v_counts || jsonb_build_object('app.profiles', v_n);
  end if;

  -- 4. Materialized views holding PHI: recomputed without the patient. The receipt counts the rows
  --    that named the patient (views with a patient_id column).
  for v_mv in
    select c.oid::regclass as mv,
           c.relispopulated as populated,
           exists (select from pg_catalog.pg_index i
                    where i.indrelid = c.oid and i.indisunique and i.indisvalid and i.indpred is null and i.indexprs is null) as has_unique,
           exists (select from pg_catalog.pg_attribute a
                    where a.attrelid = c.oid and a.attname = 'patient_id' and not a.attisdropped) as per_patient
      from pg_catalog.pg_class c
     where c.relkind = 'm'
       and pg_catalog.obj_description(c.oid, 'pg_class') like 'PHI:%'
     order by 1
  loop
    continue when not v_mv.populated;  -- never populated: holds nothing
    v_n := 0;
    if v_mv.per_patient then
      execute format('select count(*) from %s where patient_id = $1', v_mv.mv) into v_n using p_patient_id;
    end if;
    if v_mv.has_unique then
      execute format('refresh materialized view concurrently %s', v_mv.mv);
    else
      execute format('refresh materialized view %s', v_mv.mv);  -- blocks its readers until commit
    end if;
    if v_mv.per_patient then
      -- A view computed from a table this function does not erase would still name the patient.
      execute format('select count(*) from %s where patient_id = $1', v_mv.mv) into v_left using p_patient_id;
      if v_left > 0 then
        raise exception 'materialized view % still holds % row(s) of patient % after its refresh', v_mv.mv, v_left, p_patient_id
          using errcode = 'object_not_in_prerequisite_state',
                hint = 'the view reads a table app.erase_patient does not erase: add that table to the erasure';
      end if;
    end if;
    v_counts := v_counts || jsonb_build_object(v_mv.mv::text, v_n);
  end loop;

  -- 5. Receipt and security event.
  insert into audit.erasure_log (patient_id, organization_id, profile_id, requested_by, request_reference, reason, rows_deleted, objects_queued)
  values (p_patient_id, v_org, v_profile, auth.uid(), p_request_reference, p_reason, v_counts, v_queued)
  returning id into v_receipt;
  perform audit.record_security_event('gdpr_erasure', 'info', jsonb_build_object('erasure_id', v_receipt), v_org);

  return query select e.key, e.value::bigint from jsonb_each_text(v_counts) e order by e.key;
end
$fn$;

comment on function app.erase_patient(uuid, text, text, boolean) is
  'GDPR erasure of a patient: queues S3 deletions, deletes every row of the patient (audited, chain stays valid), optionally the profile, refreshes the materialized views marked PHI (CONCURRENTLY, in the same transaction) and writes a receipt to audit.erasure_log. Run as the owner.';

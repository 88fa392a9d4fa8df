-- 20261122003_audit_evidence.sql
-- What: the other audit evidence tables, next to the change log of 20261122002:
--   * audit.phi_access_log  who READ which PHI fields of which patient, why (written by the access
--                           functions, e.g. app.read_patient_phi); the change log covers writes.
--   * audit.security_events privacy-safe security events (rejected keys, invalid share tokens,
--                           device-key rotation, erasures): IPs and device ids only as
--                           audit.privacy_hash() values, details checked for identifying keys.
--   * audit.share_audit     every use of a healthcare share (token validated/rejected, data viewed).
--   * audit.erasure_log     receipt of each GDPR erasure: which patient id, on whose request, how
--                           many rows per table were removed; no PHI.
-- All four are evidence: rows are time-stamped by the database (not by the caller), never updated,
-- and deleted only after the retention period (audit.evidence_retention(), six years as HIPAA
-- requires for documentation), by app.purge_expired_data: UPDATE and TRUNCATE are refused for every
-- role by a statement trigger (even when no row matches), DELETE row by row unless expired.
-- No foreign keys to business tables on purpose: evidence outlives the rows it talks about.

create or replace function audit.evidence_retention()
returns interval
language sql
immutable
set search_path = ''
as $fn$
  select interval '6 years'
$fn$;

comment on function audit.evidence_retention() is
  'How long audit evidence is kept (HIPAA 45 CFR 164.316(b)(2): six years). Used by policies, guards and the retention purge.';

create or replace function audit.stamp_evidence()
returns trigger
language plpgsql
set search_path = ''
as $fn$
begin
  -- Evidence carries the database's clock, never a caller-supplied (back-dated) time.
  new.occurred_at := clock_timestamp();
  new.created_at  := new.occurred_at;
  return new;
end
$fn$;

comment on function audit.stamp_evidence() is 'BEFORE INSERT trigger on evidence tables: occurred_at/created_at are set by the database clock.';

create or replace function audit.guard_evidence()
returns trigger
language plpgsql
set search_path = ''
as $fn$
begin
  if tg_op = 'DELETE' and old.occurred_at < now() - audit.evidence_retention() then
    return old;  -- past retention: the purge may remove it
  end if;
  raise exception '%.% is append-only: % of an entry from % is not allowed', tg_table_schema, tg_table_name, tg_op, old.occurred_at
    using errcode = 'PHA01',
          hint = 'Evidence is never edited; it is deleted only after audit.evidence_retention() by app.purge_expired_data().';
end
$fn$;

comment on function audit.guard_evidence() is
  'BEFORE DELETE (or UPDATE) row trigger on evidence tables: refuses updates always and deletes within the retention period (SQLSTATE PHA01).';

create or replace function audit.details_are_privacy_safe(p_details jsonb)
returns boolean
language sql
immutable
set search_path = ''
as $fn$
  -- Top-level keys that would carry identifying data are not allowed in free-form details.
  select p_details is null
      or jsonb_typeof(p_details) <> 'object'
      or not (p_details ?| array['ip', 'ip_address', 'client_ip', 'email', 'phone', 'name', 'first_name', 'last_name',
                                 'device_id', 'token', 'api_key', 'password', 'ssn', 'date_of_birth', 'address'])
$fn$;

comment on function audit.details_are_privacy_safe(jsonb) is 'False when a details object has a top-level key that would carry identifying data (ip, email, token, ...).';

-- ---------------------------------------------------------------------------------------------
-- PHI read log
-- ---------------------------------------------------------------------------------------------

create table audit.phi_access_log (
  id              uuid        not null default gen_random_uuid(),
  occurred_at     timestamptz not null default clock_timestamp(),
  actor_id        uuid,
  actor_role      text,
  db_user         name        not null default session_user,
  organization_id uuid,
  patient_id      uuid        not null,
  table_schema    name        not null,
  table_name      name        not null,
  fields          text[]      not null,
  purpose         text        not null,
  client_ip_hash  bytea,
  session_id      text,
  created_at      timestamptz not null default clock_timestamp(),
  constraint phi_access_log_pkey primary key (id),
  constraint phi_access_log_fields_not_empty check (cardinality(fields) > 0),
  constraint phi_access_log_purpose_valid check (purpose in
    ('treatment', 'payment', 'operations', 'patient_request', 'research', 'legal', 'emergency', 'audit'))
);

comment on table audit.phi_access_log is
  'PHI read log: one row per read of decrypted/sensitive PHI through an access function (who, which patient id, which fields, for which HIPAA purpose). Append-only.';
comment on column audit.phi_access_log.patient_id is 'Pseudonymous id of the patient whose PHI was read (kept after erasure as evidence; no PHI).';
comment on column audit.phi_access_log.purpose is 'HIPAA purpose of use: treatment, payment, operations, patient_request, research, legal, emergency, audit.';
comment on column audit.phi_access_log.client_ip_hash is 'audit.privacy_hash() of the end-user IP; never the raw IP.';

create index phi_access_log_patient_idx on audit.phi_access_log (patient_id, occurred_at desc);
create index phi_access_log_actor_idx on audit.phi_access_log (actor_id, occurred_at desc) where actor_id is not null;
create index phi_access_log_occurred_idx on audit.phi_access_log (occurred_at);

-- ---------------------------------------------------------------------------------------------
-- Security events
-- ---------------------------------------------------------------------------------------------

create table audit.security_events (
  id              uuid        not null default gen_random_uuid(),
  occurred_at     timestamptz not null default clock_timestamp(),
  event_type      text        not null,
  severity        text        not null default 'info',
  actor_id        uuid,
  organization_id uuid,
  ip_hash         bytea,
  device_id_hash  bytea,
  details         jsonb       not null default '{}',
  created_at      timestamptz not null default clock_timestamp(),
  constraint security_events_pkey primary key (id),
  constraint security_events_type_valid check (event_type in (
    'api_key_created', 'api_key_revoked', 'api_key_rejected', 'api_key_rate_limited',
    'share_token_created', 'share_token_invalid', 'share_token_rejected', 'share_token_rate_limited',
    'device_key_registered', 'device_key_rotated',
    'phi_key_registered', 'phi_key_rotation_finished',
    'gdpr_erasure', 'retention_purge', 'access_denied')),
  constraint security_events_severity_valid check (severity in ('info', 'warning', 'critical')),
  constraint security_events_hashes_sha256 check (
    (ip_hash is null or length(ip_hash) = 32) and (device_id_hash is null or length(device_id_hash) = 32)),
  constraint security_events_details_privacy_safe check (audit.details_are_privacy_safe(details))
);

comment on table audit.security_events is
  'Privacy-safe security event log: no raw IPs, device ids, tokens or contact data (hashes only, details checked). Append-only.';
comment on column audit.security_events.ip_hash is 'audit.privacy_hash() of the client IP (month-scoped pseudonym).';
comment on column audit.security_events.device_id_hash is 'audit.privacy_hash() of the device id.';

create index security_events_type_idx on audit.security_events (event_type, occurred_at desc);
create index security_events_ip_idx on audit.security_events (ip_hash, event_type, occurred_at) where ip_hash is not null;
create index security_events_occurred_idx on audit.security_events (occurred_at);

-- ---------------------------------------------------------------------------------------------
-- Healthcare share audit
-- ---------------------------------------------------------------------------------------------

create table audit.share_audit (
  id              uuid        not null default gen_random_uuid(),
  occurred_at     timestamptz not null default clock_timestamp(),
  share_id        uuid,
  share_owner_id  uuid,
  action          text        not null,
  accessor_kind   text        not null,
  accessor_id     uuid,
  ip_hash         bytea,
  device_id_hash  bytea,
  details         jsonb       not null default '{}',
  created_at      timestamptz not null default clock_timestamp(),
  constraint share_audit_pkey primary key (id),
  constraint share_audit_action_valid check (action in (
    'share_created', 'share_revoked', 'token_created', 'token_validated', 'token_rejected',
    'data_viewed', 'data_exported', 'data_downloaded')),
  constraint share_audit_accessor_kind_valid check (accessor_kind in ('owner', 'provider', 'token_holder', 'system')),
  constraint share_audit_details_privacy_safe check (audit.details_are_privacy_safe(details))
);

comment on table audit.share_audit is
  'Audit of healthcare sharing: creation, revocation, token use and each view/export by a recipient (privacy-safe: hashed IP/device). Append-only.';
comment on column audit.share_audit.share_owner_id is 'Pseudonymous user id of the person whose data is shared, so they can review who looked.';

create index share_audit_share_idx on audit.share_audit (share_id, occurred_at desc);
create index share_audit_owner_idx on audit.share_audit (share_owner_id, occurred_at desc);
create index share_audit_occurred_idx on audit.share_audit (occurred_at);

-- ---------------------------------------------------------------------------------------------
-- Erasure receipts
-- ---------------------------------------------------------------------------------------------

create table audit.erasure_log (
  id                uuid        not null default gen_random_uuid(),
  occurred_at       timestamptz not null default clock_timestamp(),
  patient_id        uuid        not null,
  organization_id   uuid        not null,
  profile_id        uuid,
  requested_by      uuid,
  db_user           name        not null default session_user,
  request_reference text        not null,
  reason            text        not null,
  rows_deleted      jsonb       not null,
  objects_queued    integer     not null default 0,
  created_at        timestamptz not null default clock_timestamp(),
  constraint erasure_log_pkey primary key (id),
  constraint erasure_log_reason_valid check (reason in ('gdpr_art17', 'ccpa_deletion', 'patient_request', 'legal_order', 'account_closure')),
  constraint erasure_log_reference_not_blank check (length(btrim(request_reference)) between 1 and 200),
  constraint erasure_log_rows_deleted_object check (jsonb_typeof(rows_deleted) = 'object'),
  constraint erasure_log_objects_nonnegative check (objects_queued >= 0)
);

comment on table audit.erasure_log is
  'Receipt of every patient erasure (GDPR Art. 17): pseudonymous ids, the request reference, and rows deleted per table. No PHI. Append-only.';
comment on column audit.erasure_log.request_reference is 'Ticket/reference of the erasure request (must not contain the patient''s name or contact data).';

create index erasure_log_patient_idx on audit.erasure_log (patient_id);

-- ---------------------------------------------------------------------------------------------
-- Row-level security (owner: read, append, purge expired), guards
-- ---------------------------------------------------------------------------------------------

alter table audit.phi_access_log enable row level security, force row level security;
create policy baseline_deny_all on audit.phi_access_log as permissive for all to public using (false) with check (false);
create policy owner_read on audit.phi_access_log for select to phi_owner using (true);
create policy owner_append on audit.phi_access_log for insert to phi_owner with check (true);
create policy owner_purge_expired on audit.phi_access_log for delete to phi_owner
  using (occurred_at < now() - audit.evidence_retention());

alter table audit.security_events enable row level security, force row level security;
create policy baseline_deny_all on audit.security_events as permissive for all to public using (false) with check (false);
create policy owner_read on audit.security_events for select to phi_owner using (true);
create policy owner_append on audit.security_events for insert to phi_owner with check (true);
create policy owner_purge_expired on audit.security_events for delete to phi_owner
  using (occurred_at < now() - audit.evidence_retention());

alter table audit.share_audit enable row level security, force row level security;
create policy baseline_deny_all on audit.share_audit as permissive for all to public using (false) with check (false);
create policy owner_read on audit.share_audit for select to phi_owner using (true);
create policy owner_append on audit.share_audit for insert to phi_owner with check (true);
create policy owner_purge_expired on audit.share_audit for delete to phi_owner
  using (occurred_at < now() - audit.evidence_retention());

alter table audit.erasure_log enable row level security, force row level security;
create policy baseline_deny_all on audit.erasure_log as permissive for all to public using (false) with check (false);
create policy owner_read on audit.erasure_log for select to phi_owner using (true);
create policy owner_append on audit.erasure_log for insert to phi_owner with check (true);
create policy owner_purge_expired on audit.erasure_log for delete to phi_owner
  using (occurred_at < now() - audit.evidence_retention());

create trigger stamp_evidence before insert on audit.phi_access_log for each row execute function audit.stamp_evidence();
create trigger guard_evidence before delete on audit.phi_access_log for each row execute function audit.guard_evidence();
create trigger refuse_mutation before update or truncate on audit.phi_access_log for each statement execute function audit.refuse_mutation();

create trigger stamp_evidence before insert on audit.security_events for each row execute function audit.stamp_evidence();
create trigger guard_evidence before delete on audit.security_events for each row execute function audit.guard_evidence();
create trigger refuse_mutation before update or truncate on audit.security_events for each statement execute function audit.refuse_mutation();

create trigger stamp_evidence before insert on audit.share_audit for each row execute function audit.stamp_evidence();
create trigger guard_evidence before delete on audit.share_audit for each row execute function audit.guard_evidence();
create trigger refuse_mutation before update or truncate on audit.share_audit for each statement execute function audit.refuse_mutation();

create trigger stamp_evidence before insert on audit.erasure_log for each row execute function audit.stamp_evidence();
create trigger guard_evidence before delete on audit.erasure_log for each row execute function audit.guard_evidence();
create trigger refuse_mutation before update or truncate on audit.erasure_log for each statement execute function audit.refuse_mutation();

-- ---------------------------------------------------------------------------------------------
-- Writers used by the access functions (SECURITY DEFINER: request roles have no privilege on
-- schema audit; the definer functions that call these decide who may do what)
-- ---------------------------------------------------------------------------------------------

create or replace function audit.record_security_event(
  p_event_type      text,
  p_severity        text,
  p_details         jsonb default '{}',
  p_organization_id uuid default null,
  p_device_id       text default null)
returns uuid
language plpgsql
security definer
set search_path = ''
as $fn$
declare
  v_id uuid;
begin
  insert into audit.security_events (event_type, severity, actor_id, organization_id, ip_hash, device_id_hash, details)
  values (p_event_type, p_severity, auth.uid(), p_organization_id,
          audit.privacy_hash(host(auth.client_ip())), audit.privacy_hash(p_device_id), coalesce(p_details, '{}'))
  returning id into v_id;
  return v_id;
end
$fn$;

comment on function audit.record_security_event(text, text, jsonb, uuid, text) is
  'Appends a privacy-safe security event: actor from the claims, IP and device id hashed.';

create or replace function audit.record_share_access(
  p_share_id       uuid,
  p_share_owner_id uuid,
  p_action         text,
  p_accessor_kind  text,
  p_details        jsonb default '{}',
  p_device_id      text default null)
returns uuid
language plpgsql
security definer
set search_path = ''
as $fn$
declare
  v_id uuid;
begin
  insert into audit.share_audit (share_id, share_owner_id, action, accessor_kind, accessor_id, ip_hash, device_id_hash, details)
  values (p_share_id, p_share_owner_id, p_action, p_accessor_kind, auth.uid(),
          audit.privacy_hash(host(auth.client_ip())), audit.privacy_hash(p_device_id), coalesce(p_details, '{}'))
  returning id into v_id;
  return v_id;
end
$fn$;

comment on function audit.record_share_access(uuid, uuid, text, text, jsonb, text) is
  'Appends a healthcare-share audit entry: accessor from the claims, IP and device id hashed.';

create or replace function audit.record_phi_access(
  p_organization_id uuid,
  p_patient_id      uuid,
  p_table           regclass,
  p_fields          text[],
  p_purpose         text)
returns uuid
language plpgsql
security definer
set search_path = ''
as $fn$
declare
  v_id     uuid;
  v_schema name;
  v_table  name;
begin
  select n.nspname, c.relname into v_schema, v_table
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   where c.oid = p_table;
  insert into audit.phi_access_log (actor_id, actor_role, organization_id, patient_id, table_schema, table_name,
                                    fields, purpose, client_ip_hash, session_id)
  values (auth.uid(), coalesce(auth.role(), current_setting('role')), p_organization_id, p_patient_id, v_schema, v_table,
          p_fields, p_purpose, audit.privacy_hash(host(auth.client_ip())), auth.session_id())
  returning id into v_id;
  return v_id;
end
$fn$;

comment on function audit.record_phi_access(uuid, uuid, regclass, text[], text) is
  'Appends a PHI read-log entry (actor, role, session and hashed IP from the request).';

-- 20261122012_ai_doctor.sql
-- What: the AI-doctor module's data.
--   * app.ai_doctor_sessions             a patient's conversation with the AI doctor; the transcript
--                                        lives in S3 (storage_meta.objects, transcripts bucket), the
--                                        summary is field-encrypted.
--   * app.ai_doctor_sharing_permissions  which provider may see a session (summary or full
--                                        transcript), until when; revocable.
-- Why: the patient-data platform plan's AI Doctor tables; the seed's transcript_path text becomes a
-- reference to the object registry (so erasure can queue the S3 deletion) and the plain summary an
-- encrypted column. Sharing targets app.providers of the same organization (composite FK), not any
-- profile.

create table app.ai_doctor_sessions (
  id                   uuid        not null default gen_random_uuid(),
  organization_id      uuid        not null,
  patient_id           uuid        not null,
  session_type         text        not null,
  started_at           timestamptz not null default now(),
  ended_at             timestamptz,
  transcript_object_id uuid,
  summary_encrypted    bytea,
  model_name           text,
  created_at           timestamptz not null default now(),
  updated_at           timestamptz not null default now(),
  constraint ai_doctor_sessions_pkey primary key (id),
  constraint ai_doctor_sessions_org_id_key unique (organization_id, id),
  constraint ai_doctor_sessions_patient_fkey foreign key (organization_id, patient_id)
    references app.patients (organization_id, id) on delete cascade,
  constraint ai_doctor_sessions_transcript_fkey foreign key (transcript_object_id)
    references storage_meta.objects (id) on delete set null,
  constraint ai_doctor_sessions_type_valid check (session_type in (
    'symptom_check', 'follow_up', 'mental_health', 'medication_review', 'general')),
  constraint ai_doctor_sessions_time_order check (ended_at is null or ended_at >= started_at),
  constraint ai_doctor_sessions_summary_is_ciphertext check (
    summary_encrypted is null or app.phi_ciphertext_key_version(summary_encrypted) is not null),
  constraint ai_doctor_sessions_model_name_format check (model_name is null or model_name ~ '^[A-Za-z0-9._:/-]{1,100}$')
);

comment on table app.ai_doctor_sessions is
  'AI-doctor sessions of a patient: type, time, transcript object in S3, field-encrypted summary.';
comment on column app.ai_doctor_sessions.session_type is 'PHI: reason for the session (e.g. mental_health).';
comment on column app.ai_doctor_sessions.started_at is 'PHI: when the patient sought advice.';
comment on column app.ai_doctor_sessions.summary_encrypted is 'PHI: summary of the conversation, field-encrypted (app.encrypt_phi ciphertext).';
comment on column app.ai_doctor_sessions.transcript_object_id is 'Transcript object (transcripts bucket); the transcript itself is PHI kept in S3 with KMS.';

create index ai_doctor_sessions_patient_idx on app.ai_doctor_sessions (patient_id, started_at desc);
create index ai_doctor_sessions_transcript_idx on app.ai_doctor_sessions (transcript_object_id) where transcript_object_id is not null;

alter table app.ai_doctor_sessions enable row level security, force row level security;
create policy baseline_deny_all on app.ai_doctor_sessions as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.ai_doctor_sessions for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on app.ai_doctor_sessions
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on app.ai_doctor_sessions
  for each row execute function audit.log_change();

-- ---------------------------------------------------------------------------------------------

create table app.ai_doctor_sharing_permissions (
  id               uuid        not null default gen_random_uuid(),
  organization_id  uuid        not null,
  session_id       uuid        not null,
  provider_id      uuid        not null,
  permission_level text        not null default 'summary',
  shared_at        timestamptz not null default now(),
  expires_at       timestamptz,
  revoked_at       timestamptz,
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  constraint ai_doctor_sharing_permissions_pkey primary key (id),
  constraint ai_doctor_sharing_permissions_session_provider_key unique (session_id, provider_id),
  constraint ai_doctor_sharing_permissions_session_fkey foreign key (organization_id, session_id)
    references app.ai_doctor_sessions (organization_id, id) on delete cascade,
  constraint ai_doctor_sharing_permissions_provider_fkey foreign key (organization_id, provider_id)
    references app.providers (organization_id, id) on delete cascade,
  constraint ai_doctor_sharing_permissions_level_valid check (permission_level in ('summary', 'full_transcript')),
  constraint ai_doctor_sharing_permissions_expiry_order check (expires_at is null or expires_at > shared_at),
  constraint ai_doctor_sharing_permissions_revocation_order check (revoked_at is null or revoked_at >= shared_at)
);

comment on table app.ai_doctor_sharing_permissions is
  'A patient''s permission for a provider of the same organization to see an AI-doctor session (summary or full transcript), until expiry or revocation.';
comment on column app.ai_doctor_sharing_permissions.provider_id is 'PHI: the clinician the patient shares with (reveals a care relationship).';

create index ai_doctor_sharing_permissions_provider_idx on app.ai_doctor_sharing_permissions (provider_id) where revoked_at is null;

alter table app.ai_doctor_sharing_permissions enable row level security, force row level security;
create policy baseline_deny_all on app.ai_doctor_sharing_permissions as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.ai_doctor_sharing_permissions for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on app.ai_doctor_sharing_permissions
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on app.ai_doctor_sharing_permissions
  for each row execute function audit.log_change();

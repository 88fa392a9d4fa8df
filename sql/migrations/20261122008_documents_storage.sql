-- 20261122008_documents_storage.sql
-- What: metadata of everything kept in S3 (the files themselves never enter the database).
--   * app.documents                patient/clinical documents in the documents bucket: S3 key,
--                                  sha256, size, content type, status, and how S3 encrypts it
--                                  (KMS key id, algorithm, metadata).
--   * storage_meta.objects         other objects (imports, exports, AI transcripts): sha256
--                                  de-duplication per organization, reference count, storage class.
--   * storage_meta.object_chunks   chunked/compressed parts of large objects (parallel processing).
--   * storage_meta.quotas          per-organization storage quota (tenant.calculate_storage_usage).
--   * storage_meta.deletion_queue  S3 deletions the database has decided (erasure, retention) and a
--                                  worker must carry out; rows outlive the organization on purpose.
-- Why: the seeds' documents table with its JSONB access_log (now audit.*) and encryption columns;
-- the production guide's storage_meta with de-duplication, chunks and quotas.
-- Object keys must not contain names: they are restricted to S3-safe characters without spaces.

create table app.documents (
  id                    uuid        not null default gen_random_uuid(),
  organization_id       uuid        not null,
  patient_id            uuid,
  uploaded_by           uuid,
  document_type         text        not null default 'other',
  filename              text        not null,
  content_type          text        not null,
  size_bytes            bigint      not null,
  sha256                bytea       not null,
  s3_key                text        not null,
  status                text        not null default 'uploading',
  encryption_key_id     text        not null,
  encryption_algorithm  text        not null default 'aws:kms',
  encryption_metadata   jsonb       not null default '{}',
  last_access_review_at timestamptz,
  deleted_at            timestamptz,
  created_at            timestamptz not null default now(),
  updated_at            timestamptz not null default now(),
  constraint documents_pkey primary key (id),
  constraint documents_org_id_key unique (organization_id, id),
  constraint documents_s3_key_key unique (s3_key),
  constraint documents_organization_fkey foreign key (organization_id)
    references tenant.organizations (id) on delete restrict,
  constraint documents_patient_fkey foreign key (organization_id, patient_id)
    references app.patients (organization_id, id) on delete cascade,
  constraint documents_uploaded_by_fkey foreign key (uploaded_by)
    references app.profiles (id) on delete set null,
  constraint documents_type_valid check (document_type in
    ('lab_result', 'imaging', 'consent', 'referral', 'clinical_note', 'insurance', 'prescription', 'other')),
  constraint documents_filename_valid check (length(btrim(filename)) between 1 and 255 and filename !~ '[/\\]'),
  constraint documents_content_type_valid check (content_type in (
    'application/pdf', 'image/jpeg', 'image/png', 'image/heic', 'text/plain', 'text/csv',
    'application/json', 'application/fhir+json', 'application/dicom',
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document')),
  constraint documents_size_range check (size_bytes between 0 and 5368709120),
  constraint documents_sha256_length check (length(sha256) = 32),
  constraint documents_s3_key_format check (
    length(s3_key) <= 1024 and s3_key ~ '^[A-Za-z0-9][A-Za-z0-9!_.*()/-]*$' and s3_key !~ '(\.\.|//)'),
  constraint documents_status_valid check (status in ('uploading', 'processing', 'ready', 'quarantined', 'failed', 'deleted')),
  constraint documents_deleted_consistent check ((status = 'deleted') = (deleted_at is not null)),
  constraint documents_encryption_algorithm_valid check (encryption_algorithm in ('aws:kms', 'aws:kms:dsse', 'client:aes-256-gcm')),
  constraint documents_encryption_key_id_format check (
    encryption_key_id ~ '^(arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/[A-Za-z0-9/_-]+|[0-9a-f-]{36}|alias/[A-Za-z0-9/_-]+|local:[a-z0-9_-]+)$'),
  constraint documents_encryption_metadata_object check (jsonb_typeof(encryption_metadata) = 'object')
);

comment on table app.documents is
  'Metadata of documents in the documents bucket (S3 key, sha256, size, content type, status, S3 encryption). The file is in S3, encrypted with KMS; reads are logged in audit.';
comment on column app.documents.filename is 'PHI: original file name (often contains the patient''s name or condition).';
comment on column app.documents.document_type is 'PHI: kind of clinical document (reveals care received).';
comment on column app.documents.s3_key is 'Object key in the documents bucket (organization/document ids only, never names).';
comment on column app.documents.sha256 is 'sha256 of the stored object, checked on upload and download.';
comment on column app.documents.encryption_key_id is 'KMS key (ARN, key id or alias) S3 used to encrypt the object.';
comment on column app.documents.encryption_metadata is 'Encryption context / client-side envelope parameters (never key material).';

create index documents_patient_status_idx on app.documents (patient_id, status);
create index documents_content_type_status_idx on app.documents (content_type, status);
create index documents_processing_idx on app.documents (created_at) where status = 'processing';
create index documents_deleted_idx on app.documents (deleted_at) where status = 'deleted';

alter table app.documents enable row level security, force row level security;
create policy baseline_deny_all on app.documents as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.documents for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on app.documents
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on app.documents
  for each row execute function audit.log_change();

-- The consent document of a profile and of a consent record (declared in 20261122006/007).
alter table app.profiles add constraint profiles_consent_document_fkey foreign key (consent_document_id)
  references app.documents (id) on delete set null;
alter table app.patient_consents add constraint patient_consents_document_fkey foreign key (document_id)
  references app.documents (id) on delete set null;
create index profiles_consent_document_idx on app.profiles (consent_document_id) where consent_document_id is not null;
create index patient_consents_document_idx on app.patient_consents (document_id) where document_id is not null;

-- ---------------------------------------------------------------------------------------------

create table storage_meta.objects (
  id              uuid        not null default gen_random_uuid(),
  organization_id uuid        not null,
  bucket_kind     text        not null,
  object_key      text        not null,
  sha256          bytea       not null,
  size_bytes      bigint      not null,
  content_type    text        not null,
  storage_class   text        not null default 'STANDARD',
  status          text        not null default 'pending',
  ref_count       integer     not null default 1,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  constraint objects_pkey primary key (id),
  constraint objects_org_sha256_key unique (organization_id, sha256),
  constraint objects_bucket_key_key unique (bucket_kind, object_key),
  constraint objects_organization_fkey foreign key (organization_id)
    references tenant.organizations (id) on delete restrict,
  constraint objects_bucket_kind_valid check (bucket_kind in ('imports', 'exports', 'transcripts')),
  constraint objects_key_format check (
    length(object_key) <= 1024 and object_key ~ '^[A-Za-z0-9][A-Za-z0-9!_.*()/-]*$' and object_key !~ '(\.\.|//)'),
  constraint objects_sha256_length check (length(sha256) = 32),
  constraint objects_size_range check (size_bytes >= 0),
  constraint objects_content_type_format check (content_type ~ '^[a-z]+/[a-z0-9.+-]+$'),
  constraint objects_storage_class_valid check (storage_class in ('STANDARD', 'STANDARD_IA', 'INTELLIGENT_TIERING', 'GLACIER_IR', 'DEEP_ARCHIVE')),
  constraint objects_status_valid check (status in ('pending', 'stored', 'archived', 'deleting')),
  constraint objects_ref_count_nonnegative check (ref_count >= 0)
);

comment on table storage_meta.objects is
  'Objects in the imports/exports/transcripts buckets, de-duplicated per organization by sha256 (ref_count counts users of one object). Documents are tracked in app.documents.';
comment on column storage_meta.objects.sha256 is 'sha256 of the content: one stored copy per organization and content (not across tenants, which would leak existence).';

create index objects_organization_idx on storage_meta.objects (organization_id, bucket_kind);

alter table storage_meta.objects enable row level security, force row level security;
create policy baseline_deny_all on storage_meta.objects as permissive for all to public using (false) with check (false);
create policy owner_full_access on storage_meta.objects for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on storage_meta.objects
  for each row execute function app.set_updated_at();

create table storage_meta.object_chunks (
  id          uuid        not null default gen_random_uuid(),
  object_id   uuid        not null,
  chunk_index integer     not null,
  size_bytes  bigint      not null,
  sha256      bytea       not null,
  compression text        not null default 'none',
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  constraint object_chunks_pkey primary key (id),
  constraint object_chunks_object_index_key unique (object_id, chunk_index),
  constraint object_chunks_object_fkey foreign key (object_id)
    references storage_meta.objects (id) on delete cascade,
  constraint object_chunks_index_nonnegative check (chunk_index >= 0),
  constraint object_chunks_size_positive check (size_bytes > 0),
  constraint object_chunks_sha256_length check (length(sha256) = 32),
  constraint object_chunks_compression_valid check (compression in ('none', 'gzip', 'zstd'))
);

comment on table storage_meta.object_chunks is 'Chunks of a large object (index, size, sha256, compression) for parallel upload/processing; cascade with the object.';

alter table storage_meta.object_chunks enable row level security, force row level security;
create policy baseline_deny_all on storage_meta.object_chunks as permissive for all to public using (false) with check (false);
create policy owner_full_access on storage_meta.object_chunks for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on storage_meta.object_chunks
  for each row execute function app.set_updated_at();

create table storage_meta.quotas (
  id              uuid        not null default gen_random_uuid(),
  organization_id uuid        not null,
  max_bytes       bigint      not null default 107374182400,
  max_objects     integer     not null default 1000000,
  warn_at_percent integer     not null default 80,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  constraint quotas_pkey primary key (id),
  constraint quotas_organization_key unique (organization_id),
  constraint quotas_organization_fkey foreign key (organization_id)
    references tenant.organizations (id) on delete cascade,
  constraint quotas_limits_positive check (max_bytes > 0 and max_objects > 0),
  constraint quotas_warn_range check (warn_at_percent between 1 and 100)
);

comment on table storage_meta.quotas is 'Storage quota of an organization (bytes, objects, warning threshold); organizations without a row get the column defaults.';

alter table storage_meta.quotas enable row level security, force row level security;
create policy baseline_deny_all on storage_meta.quotas as permissive for all to public using (false) with check (false);
create policy owner_full_access on storage_meta.quotas for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on storage_meta.quotas
  for each row execute function app.set_updated_at();

create table storage_meta.deletion_queue (
  id              uuid        not null default gen_random_uuid(),
  organization_id uuid        not null,
  bucket_kind     text        not null,
  object_key      text        not null,
  reason          text        not null,
  requested_at    timestamptz not null default now(),
  completed_at    timestamptz,
  attempts        integer     not null default 0,
  last_error      text,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  constraint deletion_queue_pkey primary key (id),
  constraint deletion_queue_bucket_kind_valid check (bucket_kind in ('documents', 'imports', 'exports', 'transcripts')),
  constraint deletion_queue_key_format check (length(object_key) <= 1024 and object_key ~ '^[A-Za-z0-9][A-Za-z0-9!_.*()/-]*$'),
  constraint deletion_queue_reason_valid check (reason in ('gdpr_erasure', 'retention', 'user_request', 'replaced')),
  constraint deletion_queue_attempts_nonnegative check (attempts >= 0),
  constraint deletion_queue_completion_order check (completed_at is null or completed_at >= requested_at)
);

comment on table storage_meta.deletion_queue is
  'S3 objects the database decided to delete (erasure, retention) for the storage worker to remove; no foreign keys so the order survives the rows it came from.';

create index deletion_queue_pending_idx on storage_meta.deletion_queue (requested_at) where completed_at is null;

alter table storage_meta.deletion_queue enable row level security, force row level security;
create policy baseline_deny_all on storage_meta.deletion_queue as permissive for all to public using (false) with check (false);
create policy owner_full_access on storage_meta.deletion_queue for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on storage_meta.deletion_queue
  for each row execute function app.set_updated_at();

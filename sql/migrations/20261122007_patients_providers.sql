-- 20261122007_patients_providers.sql
-- What: the clinical parties and what patients allow.
--   * app.patients              an organization's patient record. Identifying data needed for
--                               search stays in columns (RDS encrypts storage at rest); the most
--                               sensitive fields (SSN, medical history, insurance details) are
--                               field-encrypted with app.encrypt_phi and their columns refuse
--                               anything that is not a ciphertext.
--   * app.providers             clinicians with specialties and telehealth availability.
--   * app.patient_consents      consent by purpose (e.g. psychotherapy notes access) granted to a
--                               person, with validity and revocation.
--   * app.crisis_access_grants  time-boxed break-glass access (at most 72 hours) for emergency
--                               providers / crisis counsellors, instead of the seed's
--                               users.crisis_access_expires column.
-- Tenancy: every patient-owned table carries organization_id and references
-- app.patients (organization_id, id), so a row can never point at another tenant's patient.

create table app.patients (
  id                          uuid        not null default gen_random_uuid(),
  organization_id             uuid        not null,
  profile_id                  uuid,
  mrn                         text,
  first_name                  text        not null,
  last_name                   text        not null,
  date_of_birth               date,
  sex_at_birth                text,
  email                       text,
  phone                       text,
  ssn_encrypted               bytea,
  medical_history_encrypted   bytea,
  insurance_details_encrypted bytea,
  status                      text        not null default 'active',
  created_at                  timestamptz not null default now(),
  updated_at                  timestamptz not null default now(),
  constraint patients_pkey primary key (id),
  constraint patients_org_id_key unique (organization_id, id),
  constraint patients_org_mrn_key unique (organization_id, mrn),
  constraint patients_org_profile_key unique (organization_id, profile_id),
  constraint patients_organization_fkey foreign key (organization_id)
    references tenant.organizations (id) on delete restrict,
  constraint patients_profile_fkey foreign key (profile_id)
    references app.profiles (id) on delete set null,
  constraint patients_names_not_blank check (length(btrim(first_name)) between 1 and 100 and length(btrim(last_name)) between 1 and 100),
  constraint patients_mrn_format check (mrn is null or mrn ~ '^[A-Za-z0-9-]{1,40}$'),
  constraint patients_date_of_birth_range check (date_of_birth is null or date_of_birth >= date '1900-01-01'),
  constraint patients_sex_at_birth_valid check (sex_at_birth is null or sex_at_birth in ('female', 'male', 'intersex', 'unknown')),
  constraint patients_email_format check (email is null or email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'),
  constraint patients_phone_format check (phone is null or phone ~ '^\+?[0-9 ()-]{6,20}$'),
  constraint patients_status_valid check (status in ('active', 'inactive', 'deceased')),
  constraint patients_ssn_is_ciphertext check (ssn_encrypted is null or app.phi_ciphertext_key_version(ssn_encrypted) is not null),
  constraint patients_medical_history_is_ciphertext check (
    medical_history_encrypted is null or app.phi_ciphertext_key_version(medical_history_encrypted) is not null),
  constraint patients_insurance_is_ciphertext check (
    insurance_details_encrypted is null or app.phi_ciphertext_key_version(insurance_details_encrypted) is not null)
);

comment on table app.patients is
  'Patient records of an organization. SSN, medical history and insurance details are field-encrypted (app.encrypt_phi); read them through app.read_patient_phi, which logs the read.';
comment on column app.patients.mrn is 'PHI: medical record number.';
comment on column app.patients.first_name is 'PHI: first name.';
comment on column app.patients.last_name is 'PHI: last name.';
comment on column app.patients.date_of_birth is 'PHI: date of birth.';
comment on column app.patients.sex_at_birth is 'PHI: sex assigned at birth.';
comment on column app.patients.email is 'PHI: contact e-mail.';
comment on column app.patients.phone is 'PHI: contact phone number.';
comment on column app.patients.ssn_encrypted is 'PHI: social security number, field-encrypted (app.encrypt_phi ciphertext).';
comment on column app.patients.medical_history_encrypted is 'PHI: medical history (free text), field-encrypted.';
comment on column app.patients.insurance_details_encrypted is 'PHI: insurance details (JSON text), field-encrypted.';
comment on column app.patients.profile_id is 'The person''s platform account, when the patient has one; SET NULL when that profile is erased.';

create index patients_profile_idx on app.patients (profile_id) where profile_id is not null;
-- Search by name/e-mail (seed: idx_patients_search). 'simple' config: names must not be stemmed;
-- coalesce: one NULL column must not blank the whole document.
create index patients_search_idx on app.patients using gin (
  to_tsvector('simple'::regconfig, coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' || coalesce(email, '')));
create index patients_last_name_trgm_idx on app.patients using gin (lower(last_name) extensions.gin_trgm_ops);

alter table app.patients enable row level security, force row level security;
create policy baseline_deny_all on app.patients as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.patients for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on app.patients
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on app.patients
  for each row execute function audit.log_change();

-- ---------------------------------------------------------------------------------------------

-- phi-db:not-phi first_name a clinician's directory name, not patient information
-- phi-db:not-phi last_name a clinician's directory name, not patient information
create table app.providers (
  id                     uuid        not null default gen_random_uuid(),
  organization_id        uuid        not null,
  profile_id             uuid,
  first_name             text        not null,
  last_name              text        not null,
  npi                    text,
  specialties            text[]      not null default '{}',
  telehealth             boolean     not null default false,
  accepting_new_patients boolean     not null default true,
  license_state          text,
  status                 text        not null default 'active',
  created_at             timestamptz not null default now(),
  updated_at             timestamptz not null default now(),
  constraint providers_pkey primary key (id),
  constraint providers_org_id_key unique (organization_id, id),
  constraint providers_org_npi_key unique (organization_id, npi),
  constraint providers_organization_fkey foreign key (organization_id)
    references tenant.organizations (id) on delete restrict,
  constraint providers_profile_fkey foreign key (profile_id)
    references app.profiles (id) on delete set null,
  constraint providers_names_not_blank check (length(btrim(first_name)) between 1 and 100 and length(btrim(last_name)) between 1 and 100),
  constraint providers_npi_format check (npi is null or npi ~ '^[0-9]{10}$'),
  constraint providers_specialties_valid check (array_position(specialties, null) is null and cardinality(specialties) <= 20),
  constraint providers_license_state_format check (license_state is null or license_state ~ '^[A-Z]{2}$'),
  constraint providers_status_valid check (status in ('active', 'inactive'))
);

comment on table app.providers is
  'Clinicians of an organization: specialties, telehealth availability, NPI. Professional data, not PHI.';
comment on column app.providers.npi is 'US National Provider Identifier (10 digits).';

create index providers_telehealth_specialties_idx on app.providers using gin (specialties) where telehealth;
create index providers_profile_idx on app.providers (profile_id) where profile_id is not null;

alter table app.providers enable row level security, force row level security;
create policy baseline_deny_all on app.providers as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.providers for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on app.providers
  for each row execute function app.set_updated_at();

-- ---------------------------------------------------------------------------------------------

create table app.patient_consents (
  id              uuid        not null default gen_random_uuid(),
  organization_id uuid        not null,
  patient_id      uuid        not null,
  consent_type    text        not null,
  granted_to      uuid,
  granted_at      timestamptz not null default now(),
  valid_until     timestamptz,
  revoked_at      timestamptz,
  consent_version text,
  document_id     uuid,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  constraint patient_consents_pkey primary key (id),
  constraint patient_consents_patient_fkey foreign key (organization_id, patient_id)
    references app.patients (organization_id, id) on delete cascade,
  constraint patient_consents_granted_to_fkey foreign key (granted_to)
    references app.profiles (id) on delete cascade,
  constraint patient_consents_type_valid check (consent_type in (
    'treatment', 'telehealth', 'data_sharing', 'research', 'psychotherapy_notes_access', 'ai_analysis', 'marketing')),
  constraint patient_consents_validity_order check (valid_until is null or valid_until > granted_at),
  constraint patient_consents_revocation_order check (revoked_at is null or revoked_at >= granted_at)
);

comment on table app.patient_consents is
  'Consents a patient gave, by purpose, optionally to a specific person (granted_to), with validity and revocation. RLS policies (e.g. psychotherapy notes access) read it.';
comment on column app.patient_consents.consent_type is 'PHI: the purpose can reveal care received (e.g. psychotherapy_notes_access).';

create index patient_consents_lookup_idx on app.patient_consents (patient_id, consent_type, granted_to) where revoked_at is null;
create index patient_consents_granted_to_idx on app.patient_consents (granted_to) where granted_to is not null;

alter table app.patient_consents enable row level security, force row level security;
create policy baseline_deny_all on app.patient_consents as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.patient_consents for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on app.patient_consents
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on app.patient_consents
  for each row execute function audit.log_change();

-- ---------------------------------------------------------------------------------------------

create table app.crisis_access_grants (
  id              uuid        not null default gen_random_uuid(),
  organization_id uuid        not null,
  grantee_id      uuid        not null,
  patient_id      uuid,
  grant_role      text        not null,
  reason          text        not null,
  granted_by      uuid,
  granted_at      timestamptz not null default now(),
  expires_at      timestamptz not null,
  revoked_at      timestamptz,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  constraint crisis_access_grants_pkey primary key (id),
  constraint crisis_access_grants_organization_fkey foreign key (organization_id)
    references tenant.organizations (id) on delete cascade,
  constraint crisis_access_grants_patient_fkey foreign key (organization_id, patient_id)
    references app.patients (organization_id, id) on delete cascade,
  constraint crisis_access_grants_grantee_fkey foreign key (grantee_id)
    references app.profiles (id) on delete cascade,
  constraint crisis_access_grants_granted_by_fkey foreign key (granted_by)
    references app.profiles (id) on delete set null,
  constraint crisis_access_grants_role_valid check (grant_role in ('emergency_provider', 'crisis_counselor')),
  constraint crisis_access_grants_reason_not_blank check (length(btrim(reason)) between 10 and 2000),
  constraint crisis_access_grants_window check (expires_at > granted_at and expires_at <= granted_at + interval '72 hours'),
  constraint crisis_access_grants_revocation_order check (revoked_at is null or revoked_at >= granted_at)
);

comment on table app.crisis_access_grants is
  'Break-glass access for crisis intervention: a grantee may see crisis appointments of one patient (or of the organization when patient_id is NULL) until expires_at (at most 72 hours).';
comment on column app.crisis_access_grants.reason is 'PHI: justification for the emergency access (may describe the crisis).';

create index crisis_access_grants_grantee_idx on app.crisis_access_grants (grantee_id, expires_at) where revoked_at is null;
create index crisis_access_grants_patient_idx on app.crisis_access_grants (patient_id) where patient_id is not null;

alter table app.crisis_access_grants enable row level security, force row level security;
create policy baseline_deny_all on app.crisis_access_grants as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.crisis_access_grants for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on app.crisis_access_grants
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on app.crisis_access_grants
  for each row execute function audit.log_change();

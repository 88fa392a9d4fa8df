-- 20261122010_clinical_catalog.sql
-- What: reference data shared by all patients (no PHI in any of these tables).
--   * app.conditions          coded conditions (ICD-10 / SNOMED CT / custom).
--   * app.treatments          treatments with traceability: manufacturer, how the source was
--                             verified, regulatory status (the migration plan's "Traceability").
--   * app.trials              clinical trials (registry id, phase, status, condition, treatment).
--   * app.learning_resources  educational content, global (organization_id NULL) or per tenant.
-- Why: the patient-data platform plan's conditions/treatments/trials/learning tables, reviewed:
-- codes unique per system, enumerations as CHECKs, deliberate ON DELETE SET NULL for links
-- between catalog rows (deleting a treatment must not delete trials or resources).

create table app.conditions (
  id          uuid        not null default gen_random_uuid(),
  code_system text        not null,
  code        text        not null,
  name        text        not null,
  category    text,
  description text,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  constraint conditions_pkey primary key (id),
  constraint conditions_code_key unique (code_system, code),
  constraint conditions_code_system_valid check (code_system in ('icd10', 'snomed', 'custom')),
  constraint conditions_code_format check (
    (code_system = 'icd10' and code ~ '^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$')
    or (code_system = 'snomed' and code ~ '^[0-9]{6,18}$')
    or (code_system = 'custom' and code ~ '^[a-z0-9][a-z0-9_.-]{0,63}$')),
  constraint conditions_name_not_blank check (length(btrim(name)) between 1 and 300)
);

comment on table app.conditions is 'Catalog of coded conditions (ICD-10, SNOMED CT, custom). Reference data, not PHI.';

create index conditions_name_trgm_idx on app.conditions using gin (lower(name) extensions.gin_trgm_ops);

alter table app.conditions enable row level security, force row level security;
create policy baseline_deny_all on app.conditions as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.conditions for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on app.conditions
  for each row execute function app.set_updated_at();

-- ---------------------------------------------------------------------------------------------

create table app.treatments (
  id                         uuid        not null default gen_random_uuid(),
  name                       text        not null,
  treatment_type             text        not null,
  condition_id               uuid,
  description                text,
  manufacturer               text,
  source_verification_method text        not null default 'unverified',
  regulatory_status          text        not null default 'unapproved',
  created_at                 timestamptz not null default now(),
  updated_at                 timestamptz not null default now(),
  constraint treatments_pkey primary key (id),
  constraint treatments_condition_fkey foreign key (condition_id)
    references app.conditions (id) on delete set null,
  constraint treatments_name_not_blank check (length(btrim(name)) between 1 and 300),
  constraint treatments_type_valid check (treatment_type in ('medication', 'supplement', 'device', 'therapy', 'procedure', 'lifestyle')),
  constraint treatments_verification_valid check (source_verification_method in (
    'manufacturer_attestation', 'third_party_lab', 'regulatory_database', 'pharmacy_supply_chain', 'unverified')),
  constraint treatments_regulatory_status_valid check (regulatory_status in (
    'approved', 'cleared', 'investigational', 'otc', 'supplement', 'unapproved', 'withdrawn')),
  constraint treatments_manufacturer_for_products check (
    treatment_type not in ('medication', 'device', 'supplement') or manufacturer is not null or source_verification_method = 'unverified')
);

comment on table app.treatments is
  'Catalog of treatments with traceability: manufacturer, how the source was verified, regulatory status. Reference data, not PHI.';

create unique index treatments_name_type_key on app.treatments (lower(name), treatment_type);
create index treatments_condition_idx on app.treatments (condition_id) where condition_id is not null;
create index treatments_name_trgm_idx on app.treatments using gin (lower(name) extensions.gin_trgm_ops);

alter table app.treatments enable row level security, force row level security;
create policy baseline_deny_all on app.treatments as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.treatments for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on app.treatments
  for each row execute function app.set_updated_at();

-- ---------------------------------------------------------------------------------------------

create table app.trials (
  id           uuid        not null default gen_random_uuid(),
  registry_id  text,
  title        text        not null,
  condition_id uuid,
  treatment_id uuid,
  phase        text        not null default 'not_applicable',
  status       text        not null default 'not_yet_recruiting',
  sponsor      text,
  start_date   date,
  end_date     date,
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now(),
  constraint trials_pkey primary key (id),
  constraint trials_registry_id_key unique (registry_id),
  constraint trials_condition_fkey foreign key (condition_id) references app.conditions (id) on delete set null,
  constraint trials_treatment_fkey foreign key (treatment_id) references app.treatments (id) on delete set null,
  constraint trials_registry_id_format check (registry_id is null or registry_id ~ '^(NCT[0-9]{8}|EUCT[0-9-]{10,20}|ISRCTN[0-9]{8})$'),
  constraint trials_title_not_blank check (length(btrim(title)) between 1 and 500),
  constraint trials_phase_valid check (phase in ('early_phase_1', 'phase_1', 'phase_1_2', 'phase_2', 'phase_2_3', 'phase_3', 'phase_4', 'not_applicable')),
  constraint trials_status_valid check (status in (
    'not_yet_recruiting', 'recruiting', 'active_not_recruiting', 'completed', 'suspended', 'terminated', 'withdrawn')),
  constraint trials_date_order check (end_date is null or start_date is null or end_date >= start_date)
);

comment on table app.trials is 'Clinical trials (registry id, phase, status, condition, treatment). Reference data, not PHI.';

create index trials_condition_idx on app.trials (condition_id) where condition_id is not null;
create index trials_treatment_idx on app.trials (treatment_id) where treatment_id is not null;
create index trials_recruiting_idx on app.trials (status) where status = 'recruiting';

alter table app.trials enable row level security, force row level security;
create policy baseline_deny_all on app.trials as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.trials for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on app.trials
  for each row execute function app.set_updated_at();

-- ---------------------------------------------------------------------------------------------

create table app.learning_resources (
  id                   uuid        not null default gen_random_uuid(),
  organization_id      uuid,
  title                text        not null,
  description          text,
  resource_type        text        not null,
  content_url          text,
  content              text,
  related_condition_id uuid,
  related_treatment_id uuid,
  is_published         boolean     not null default false,
  created_by           uuid,
  created_at           timestamptz not null default now(),
  updated_at           timestamptz not null default now(),
  constraint learning_resources_pkey primary key (id),
  constraint learning_resources_organization_fkey foreign key (organization_id)
    references tenant.organizations (id) on delete cascade,
  constraint learning_resources_condition_fkey foreign key (related_condition_id)
    references app.conditions (id) on delete set null,
  constraint learning_resources_treatment_fkey foreign key (related_treatment_id)
    references app.treatments (id) on delete set null,
  constraint learning_resources_created_by_fkey foreign key (created_by)
    references app.profiles (id) on delete set null,
  constraint learning_resources_title_not_blank check (length(btrim(title)) between 1 and 300),
  constraint learning_resources_type_valid check (resource_type in ('article', 'video', 'course', 'pdf', 'link', 'podcast')),
  constraint learning_resources_url_https check (content_url is null or content_url ~ '^https://[^\s]+$'),
  constraint learning_resources_has_content check (content_url is not null or content is not null)
);

comment on table app.learning_resources is
  'Educational resources, global (organization_id NULL) or of one organization, optionally about a condition or treatment. Not PHI.';

create index learning_resources_condition_idx on app.learning_resources (related_condition_id) where related_condition_id is not null;
create index learning_resources_treatment_idx on app.learning_resources (related_treatment_id) where related_treatment_id is not null;
create index learning_resources_organization_idx on app.learning_resources (organization_id) where organization_id is not null;

alter table app.learning_resources enable row level security, force row level security;
create policy baseline_deny_all on app.learning_resources as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.learning_resources for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on app.learning_resources
  for each row execute function app.set_updated_at();

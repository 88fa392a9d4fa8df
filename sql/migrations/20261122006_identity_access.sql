-- 20261122006_identity_access.sql
-- What: who the people are and how they and machines get in.
--   * app.profiles                 one row per person; id = the identity provider's subject
--                                  (auth.uid()), consent tracking (version, time, document).
--   * tenant.organization_members  a person in an organization with one of the user types admin,
--                                  provider, patient, research-partner, developer.
--   * tenant.api_keys              organization API keys stored ONLY as sha256 + a public lookup
--                                  prefix ('phk_' + 12 hex), with scopes, expiry, revocation and a
--                                  per-key rate limit. The key is shown once by
--                                  tenant.create_api_key and never stored.
--   * tenant.api_key_usage         usage trail (one row per verification, outcome, hashed IP); it
--                                  also feeds the per-key rate limit.
-- Why: the seed's api_keys table had a plain-text "key" column and cascaded key deletion from the
-- creator's profile; the seed's users.data_access_log JSONB array is replaced by audit.log /
-- audit.phi_access_log (20261122002/003).

create table app.profiles (
  id                    uuid        not null,
  email                 text        not null,
  display_name          text,
  locale                text        not null default 'en',
  timezone              text        not null default 'UTC',
  status                text        not null default 'active',
  consent_version       text,
  consent_at            timestamptz,
  consent_document_id   uuid,
  last_hipaa_review_at  timestamptz,
  created_at            timestamptz not null default now(),
  updated_at            timestamptz not null default now(),
  constraint profiles_pkey primary key (id),
  constraint profiles_email_format check (email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' and length(email) <= 320),
  constraint profiles_locale_format check (locale ~ '^[a-z]{2,3}(-[A-Z]{2})?$'),
  constraint profiles_status_valid check (status in ('active', 'deactivated')),
  constraint profiles_consent_complete check ((consent_version is null) = (consent_at is null))
);

comment on table app.profiles is
  'People using the platform (patients, providers, admins, partners); id is the identity provider subject = auth.uid(). Consent to the current terms is tracked here, consents per purpose in app.patient_consents.';
comment on column app.profiles.id is 'Identity provider subject (JWT sub); not generated here.';
comment on column app.profiles.email is 'PHI: contact identifier of the person (HIPAA identifier).';
comment on column app.profiles.display_name is 'PHI: name the person chose to display (may be their real name).';
comment on column app.profiles.consent_version is 'Version of the terms/privacy notice the person last consented to.';
comment on column app.profiles.consent_at is 'When that consent was given.';
comment on column app.profiles.consent_document_id is 'The signed consent document (app.documents), if one was uploaded.';

create unique index profiles_email_lower_key on app.profiles (lower(email));

alter table app.profiles enable row level security, force row level security;
create policy baseline_deny_all on app.profiles as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.profiles for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on app.profiles
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on app.profiles
  for each row execute function audit.log_change('user:id');  -- chain per person, not one global chain

-- ---------------------------------------------------------------------------------------------

create table tenant.organization_members (
  id              uuid        not null default gen_random_uuid(),
  organization_id uuid        not null,
  user_id         uuid        not null,
  user_type       text        not null,
  status          text        not null default 'active',
  invited_by      uuid,
  joined_at       timestamptz,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  constraint organization_members_pkey primary key (id),
  constraint organization_members_org_user_key unique (organization_id, user_id),
  constraint organization_members_organization_fkey foreign key (organization_id)
    references tenant.organizations (id) on delete cascade,
  constraint organization_members_user_fkey foreign key (user_id)
    references app.profiles (id) on delete cascade,
  constraint organization_members_invited_by_fkey foreign key (invited_by)
    references app.profiles (id) on delete set null,
  constraint organization_members_user_type_valid check (user_type in ('admin', 'provider', 'patient', 'research-partner', 'developer')),
  constraint organization_members_status_valid check (status in ('invited', 'active', 'suspended')),
  constraint organization_members_active_joined check (status <> 'active' or joined_at is not null)
);

comment on table tenant.organization_members is
  'Membership of a person in an organization with their user type (admin, provider, patient, research-partner, developer). Cascades with the organization and the profile.';

create index organization_members_user_idx on tenant.organization_members (user_id);

alter table tenant.organization_members enable row level security, force row level security;
create policy baseline_deny_all on tenant.organization_members as permissive for all to public using (false) with check (false);
create policy owner_full_access on tenant.organization_members for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on tenant.organization_members
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on tenant.organization_members
  for each row execute function audit.log_change();

-- ---------------------------------------------------------------------------------------------

create table tenant.api_keys (
  id                    uuid        not null default gen_random_uuid(),
  organization_id       uuid        not null,
  name                  text        not null,
  key_prefix            text        not null,
  key_hash              bytea       not null,
  scopes                text[]      not null,
  rate_limit_per_minute integer     not null default 600,
  expires_at            timestamptz,
  revoked_at            timestamptz,
  revoked_by            uuid,
  revoked_reason        text,
  last_used_at          timestamptz,
  created_by            uuid,
  created_at            timestamptz not null default now(),
  updated_at            timestamptz not null default now(),
  constraint api_keys_pkey primary key (id),
  constraint api_keys_prefix_key unique (key_prefix),
  constraint api_keys_hash_key unique (key_hash),
  constraint api_keys_organization_fkey foreign key (organization_id)
    references tenant.organizations (id) on delete cascade,
  constraint api_keys_created_by_fkey foreign key (created_by)
    references app.profiles (id) on delete set null,
  constraint api_keys_revoked_by_fkey foreign key (revoked_by)
    references app.profiles (id) on delete set null,
  constraint api_keys_name_not_blank check (length(btrim(name)) between 1 and 100),
  constraint api_keys_prefix_format check (key_prefix ~ '^phk_[0-9a-f]{12}$'),
  constraint api_keys_hash_sha256 check (length(key_hash) = 32),
  constraint api_keys_scopes_valid check (
    cardinality(scopes) between 1 and 20
    and array_position(scopes, null) is null
    and scopes <@ array['patients:read', 'patients:write', 'appointments:read', 'appointments:write',
                        'documents:read', 'documents:write', 'measurements:read', 'measurements:write',
                        'analytics:read', 'webhooks:manage', 'admin']::text[]),
  constraint api_keys_rate_limit_range check (rate_limit_per_minute between 1 and 100000),
  constraint api_keys_expiry_after_creation check (expires_at is null or expires_at > created_at),
  constraint api_keys_revocation_complete check ((revoked_at is null) = (revoked_reason is null))
);

comment on table tenant.api_keys is
  'Organization API keys: only the sha256 of the key and its public lookup prefix are stored; scopes, expiry, revocation and a per-key rate limit. Create with tenant.create_api_key, check with auth.verify_api_key.';
comment on column tenant.api_keys.key_prefix is 'Public part of the key (phk_ + 12 hex) used to find the row; not a secret.';
comment on column tenant.api_keys.key_hash is 'sha256 of the whole key. The key itself is never stored.';
comment on column tenant.api_keys.created_by is 'Profile that created the key; SET NULL when that person is erased (the key belongs to the organization).';

create index api_keys_organization_idx on tenant.api_keys (organization_id) where revoked_at is null;

alter table tenant.api_keys enable row level security, force row level security;
create policy baseline_deny_all on tenant.api_keys as permissive for all to public using (false) with check (false);
create policy owner_full_access on tenant.api_keys for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on tenant.api_keys
  for each row execute function app.set_updated_at();
-- last_used_at changes on every verification: it is not an audit-worthy change (the usage trail has it).
create trigger audit_changes
  after insert or delete or update of name, key_prefix, key_hash, scopes, rate_limit_per_minute, expires_at, revoked_at, revoked_by, revoked_reason, organization_id
  on tenant.api_keys
  for each row execute function audit.log_change();

-- ---------------------------------------------------------------------------------------------

create table tenant.api_key_usage (
  id              uuid        not null default gen_random_uuid(),
  api_key_id      uuid        not null,
  organization_id uuid        not null,
  used_at         timestamptz not null default clock_timestamp(),
  outcome         text        not null,
  scope_requested text,
  ip_hash         bytea,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  constraint api_key_usage_pkey primary key (id),
  constraint api_key_usage_api_key_fkey foreign key (api_key_id)
    references tenant.api_keys (id) on delete cascade,
  constraint api_key_usage_organization_fkey foreign key (organization_id)
    references tenant.organizations (id) on delete cascade,
  constraint api_key_usage_outcome_valid check (outcome in ('valid', 'revoked', 'expired', 'scope_denied', 'rate_limited')),
  constraint api_key_usage_ip_hash_sha256 check (ip_hash is null or length(ip_hash) = 32)
);

comment on table tenant.api_key_usage is
  'Usage trail of API keys: one row per verification of a known key with its outcome and a privacy hash of the caller IP; drives the per-key rate limit. Purged after retention.api_usage_trail_days.';

create index api_key_usage_key_time_idx on tenant.api_key_usage (api_key_id, used_at desc);
create index api_key_usage_used_at_idx on tenant.api_key_usage (used_at);
create index api_key_usage_organization_idx on tenant.api_key_usage (organization_id, used_at desc);

alter table tenant.api_key_usage enable row level security, force row level security;
create policy baseline_deny_all on tenant.api_key_usage as permissive for all to public using (false) with check (false);
create policy owner_full_access on tenant.api_key_usage for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on tenant.api_key_usage
  for each row execute function app.set_updated_at();

-- 20261122013_oauth.sql
-- What: OAuth 2.0 storage for the patient-facing API, ready for SMART on FHIR.
--   * tenant.oauth_scopes          the scopes this server knows (SMART v1/v2 syntax and OpenID),
--                                  seeded with the standard SMART launch scopes.
--   * tenant.oauth_clients         registered apps: public client id, client secret ONLY as sha256
--                                  (confidential clients), redirect URIs, grant types, allowed scopes.
--   * tenant.oauth_access_tokens   issued access tokens, ONLY as sha256, with scopes, the SMART
--                                  launch patient context, expiry (<= 24 h) and revocation.
--   * tenant.oauth_refresh_tokens  refresh tokens (sha256), with rotation (replaced_by_id).
-- Why: the migration plan keeps these four tables for a SMART on FHIR API; tokens and secrets are
-- bearer credentials, so only their hashes are stored (a database leak must not yield usable tokens).

create or replace function tenant.all_match(p_values text[], p_pattern text)
returns boolean
language sql
immutable
set search_path = ''
as $fn$
  select coalesce(bool_and(v ~ p_pattern), true) and array_position(p_values, null) is null
    from unnest(p_values) as u(v)
$fn$;

comment on function tenant.all_match(text[], text) is 'True when every element of the array matches the regular expression (and none is NULL); for CHECK constraints.';

create table tenant.oauth_scopes (
  id               uuid        not null default gen_random_uuid(),
  scope            text        not null,
  description      text        not null,
  is_default       boolean     not null default false,
  requires_consent boolean     not null default true,
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  constraint oauth_scopes_pkey primary key (id),
  constraint oauth_scopes_scope_key unique (scope),
  constraint oauth_scopes_scope_format check (scope ~
    '^((patient|user|system)/(\*|[A-Z][A-Za-z]+)\.(read|write|\*|c?r?u?d?s?)|openid|fhirUser|profile|email|launch|launch/patient|launch/encounter|offline_access|online_access)$')
);

comment on table tenant.oauth_scopes is 'OAuth scopes this server grants: SMART on FHIR resource scopes (patient/Observation.read, ...), launch context and OpenID scopes.';

alter table tenant.oauth_scopes enable row level security, force row level security;
create policy baseline_deny_all on tenant.oauth_scopes as permissive for all to public using (false) with check (false);
create policy owner_full_access on tenant.oauth_scopes for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on tenant.oauth_scopes
  for each row execute function app.set_updated_at();

insert into tenant.oauth_scopes (scope, description, is_default, requires_consent) values
  ('openid',            'OpenID Connect sign-in', true, false),
  ('fhirUser',          'Identity of the signed-in user as a FHIR resource', true, false),
  ('launch',            'EHR launch context', false, false),
  ('launch/patient',    'Standalone launch: select a patient', false, false),
  ('offline_access',    'Refresh tokens that outlive the session', false, true),
  ('online_access',     'Refresh tokens bound to the session', false, true),
  ('patient/*.read',    'Read all data of the patient in context', false, true),
  ('patient/Observation.read', 'Read observations (measurements) of the patient in context', false, true),
  ('patient/Appointment.read', 'Read appointments of the patient in context', false, true),
  ('user/Patient.read', 'Read patients the user may see', false, true)
on conflict (scope) do nothing;

-- ---------------------------------------------------------------------------------------------

create table tenant.oauth_clients (
  id                         uuid        not null default gen_random_uuid(),
  organization_id            uuid        not null,
  client_id                  text        not null,
  client_name                text        not null,
  client_type                text        not null,
  client_secret_hash         bytea,
  token_endpoint_auth_method text        not null,
  redirect_uris              text[]      not null,
  grant_types                text[]      not null default array['authorization_code', 'refresh_token'],
  allowed_scopes             text[]      not null,
  jwks_uri                   text,
  launch_uri                 text,
  is_active                  boolean     not null default true,
  revoked_at                 timestamptz,
  created_by                 uuid,
  created_at                 timestamptz not null default now(),
  updated_at                 timestamptz not null default now(),
  constraint oauth_clients_pkey primary key (id),
  constraint oauth_clients_client_id_key unique (client_id),
  constraint oauth_clients_organization_fkey foreign key (organization_id)
    references tenant.organizations (id) on delete cascade,
  constraint oauth_clients_created_by_fkey foreign key (created_by)
    references app.profiles (id) on delete set null,
  constraint oauth_clients_client_id_format check (client_id ~ '^[A-Za-z0-9_-]{16,64}$'),
  constraint oauth_clients_name_not_blank check (length(btrim(client_name)) between 1 and 200),
  constraint oauth_clients_type_valid check (client_type in ('confidential', 'public')),
  constraint oauth_clients_auth_method_valid check (token_endpoint_auth_method in
    ('client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none')),
  constraint oauth_clients_public_has_no_secret check (
    client_type <> 'public' or (token_endpoint_auth_method = 'none' and client_secret_hash is null)),
  constraint oauth_clients_confidential_authenticates check (
    client_type <> 'confidential'
    or (token_endpoint_auth_method in ('client_secret_basic', 'client_secret_post') and client_secret_hash is not null)
    or (token_endpoint_auth_method = 'private_key_jwt' and jwks_uri is not null)),
  constraint oauth_clients_secret_hash_sha256 check (client_secret_hash is null or length(client_secret_hash) = 32),
  constraint oauth_clients_redirect_uris_valid check (
    cardinality(redirect_uris) between 1 and 20
    and tenant.all_match(redirect_uris, '^(https://[^\s#]+|http://(localhost|127\.0\.0\.1)(:[0-9]{1,5})?(/[^\s#]*)?|[a-z][a-z0-9.+-]*\.[a-z0-9.+-]+:/[^\s#]*)$')),
  constraint oauth_clients_grant_types_valid check (
    cardinality(grant_types) >= 1
    and grant_types <@ array['authorization_code', 'refresh_token', 'client_credentials']::text[]),
  constraint oauth_clients_allowed_scopes_not_empty check (cardinality(allowed_scopes) >= 1 and array_position(allowed_scopes, null) is null),
  constraint oauth_clients_uris_https check (
    (jwks_uri is null or jwks_uri ~ '^https://[^\s]+$') and (launch_uri is null or launch_uri ~ '^https://[^\s]+$')),
  constraint oauth_clients_revoked_inactive check (revoked_at is null or not is_active)
);

comment on table tenant.oauth_clients is
  'Registered OAuth/SMART apps of an organization. A confidential client''s secret is stored only as sha256; public clients (PKCE) have none.';
comment on column tenant.oauth_clients.client_id is 'Public client identifier (not a secret).';
comment on column tenant.oauth_clients.client_secret_hash is 'sha256 of the client secret; the secret is shown once at registration and never stored.';

create index oauth_clients_organization_idx on tenant.oauth_clients (organization_id);

alter table tenant.oauth_clients enable row level security, force row level security;
create policy baseline_deny_all on tenant.oauth_clients as permissive for all to public using (false) with check (false);
create policy owner_full_access on tenant.oauth_clients for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on tenant.oauth_clients
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on tenant.oauth_clients
  for each row execute function audit.log_change();

-- ---------------------------------------------------------------------------------------------

create table tenant.oauth_access_tokens (
  id                uuid        not null default gen_random_uuid(),
  oauth_client_id   uuid        not null,
  organization_id   uuid        not null,
  user_id           uuid,
  token_hash        bytea       not null,
  scopes            text[]      not null,
  launch_patient_id uuid,
  expires_at        timestamptz not null,
  revoked_at        timestamptz,
  created_at        timestamptz not null default now(),
  updated_at        timestamptz not null default now(),
  constraint oauth_access_tokens_pkey primary key (id),
  constraint oauth_access_tokens_hash_key unique (token_hash),
  constraint oauth_access_tokens_client_fkey foreign key (oauth_client_id)
    references tenant.oauth_clients (id) on delete cascade,
  constraint oauth_access_tokens_organization_fkey foreign key (organization_id)
    references tenant.organizations (id) on delete cascade,
  constraint oauth_access_tokens_user_fkey foreign key (user_id)
    references app.profiles (id) on delete cascade,
  constraint oauth_access_tokens_launch_patient_fkey foreign key (organization_id, launch_patient_id)
    references app.patients (organization_id, id) on delete cascade,
  constraint oauth_access_tokens_hash_sha256 check (length(token_hash) = 32),
  constraint oauth_access_tokens_scopes_not_empty check (cardinality(scopes) >= 1 and array_position(scopes, null) is null),
  constraint oauth_access_tokens_lifetime check (expires_at > created_at and expires_at <= created_at + interval '24 hours')
);

comment on table tenant.oauth_access_tokens is
  'Issued OAuth access tokens, only as sha256, with scopes, SMART launch patient context, expiry (at most 24 h) and revocation.';
comment on column tenant.oauth_access_tokens.token_hash is 'sha256 of the bearer token; the token itself is never stored.';
comment on column tenant.oauth_access_tokens.launch_patient_id is 'SMART launch context: the patient the token is scoped to (tokens go with the patient on erasure).';

create index oauth_access_tokens_user_idx on tenant.oauth_access_tokens (user_id) where user_id is not null;
create index oauth_access_tokens_client_idx on tenant.oauth_access_tokens (oauth_client_id);
create index oauth_access_tokens_expires_idx on tenant.oauth_access_tokens (expires_at);
create index oauth_access_tokens_launch_patient_idx on tenant.oauth_access_tokens (launch_patient_id) where launch_patient_id is not null;

alter table tenant.oauth_access_tokens enable row level security, force row level security;
create policy baseline_deny_all on tenant.oauth_access_tokens as permissive for all to public using (false) with check (false);
create policy owner_full_access on tenant.oauth_access_tokens for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on tenant.oauth_access_tokens
  for each row execute function app.set_updated_at();

create table tenant.oauth_refresh_tokens (
  id                uuid        not null default gen_random_uuid(),
  oauth_client_id   uuid        not null,
  organization_id   uuid        not null,
  user_id           uuid        not null,
  access_token_id   uuid,
  token_hash        bytea       not null,
  scopes            text[]      not null,
  launch_patient_id uuid,
  expires_at        timestamptz not null,
  revoked_at        timestamptz,
  rotated_at        timestamptz,
  replaced_by_id    uuid,
  created_at        timestamptz not null default now(),
  updated_at        timestamptz not null default now(),
  constraint oauth_refresh_tokens_pkey primary key (id),
  constraint oauth_refresh_tokens_hash_key unique (token_hash),
  constraint oauth_refresh_tokens_client_fkey foreign key (oauth_client_id)
    references tenant.oauth_clients (id) on delete cascade,
  constraint oauth_refresh_tokens_organization_fkey foreign key (organization_id)
    references tenant.organizations (id) on delete cascade,
  constraint oauth_refresh_tokens_user_fkey foreign key (user_id)
    references app.profiles (id) on delete cascade,
  constraint oauth_refresh_tokens_access_token_fkey foreign key (access_token_id)
    references tenant.oauth_access_tokens (id) on delete set null,
  constraint oauth_refresh_tokens_launch_patient_fkey foreign key (organization_id, launch_patient_id)
    references app.patients (organization_id, id) on delete cascade,
  constraint oauth_refresh_tokens_replaced_by_fkey foreign key (replaced_by_id)
    references tenant.oauth_refresh_tokens (id) on delete set null,
  constraint oauth_refresh_tokens_hash_sha256 check (length(token_hash) = 32),
  constraint oauth_refresh_tokens_scopes_not_empty check (cardinality(scopes) >= 1 and array_position(scopes, null) is null),
  constraint oauth_refresh_tokens_lifetime check (expires_at > created_at and expires_at <= created_at + interval '180 days'),
  constraint oauth_refresh_tokens_replacement_is_rotation check (replaced_by_id is null or rotated_at is not null)
);

comment on table tenant.oauth_refresh_tokens is
  'OAuth refresh tokens, only as sha256, rotated on use (replaced_by_id), expiring within 180 days, revocable.';
comment on column tenant.oauth_refresh_tokens.token_hash is 'sha256 of the refresh token; the token itself is never stored.';

create index oauth_refresh_tokens_user_idx on tenant.oauth_refresh_tokens (user_id);
create index oauth_refresh_tokens_client_idx on tenant.oauth_refresh_tokens (oauth_client_id);
create index oauth_refresh_tokens_expires_idx on tenant.oauth_refresh_tokens (expires_at);
create index oauth_refresh_tokens_access_token_idx on tenant.oauth_refresh_tokens (access_token_id) where access_token_id is not null;
create index oauth_refresh_tokens_launch_patient_idx on tenant.oauth_refresh_tokens (launch_patient_id) where launch_patient_id is not null;

alter table tenant.oauth_refresh_tokens enable row level security, force row level security;
create policy baseline_deny_all on tenant.oauth_refresh_tokens as permissive for all to public using (false) with check (false);
create policy owner_full_access on tenant.oauth_refresh_tokens for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on tenant.oauth_refresh_tokens
  for each row execute function app.set_updated_at();

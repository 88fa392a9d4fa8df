-- 20261122005_tenant_core.sql
-- What: the multi-tenant backbone and instance configuration.
--   * tenant.organizations                 tenants: slug, quotas, settings, lifecycle status.
--   * tenant.instance_settings             key/value settings of this installation (retention
--                                          periods, feature defaults); never secrets.
--   * tenant.instance_module_activations   which optional modules (e-commerce, AI doctor, ...) are
--                                          switched on; the e-commerce tables refuse writes while
--                                          their module is inactive (20261122015).
--   * tenant.instance_network_config       the single row describing this instance's link to the
--                                          research data network; its API key is field-encrypted.
-- Why: the production guide's organization model (multi-tenant, quotas) merged with the instance
-- configuration of the patient-data platform plan.
-- Foreign keys from clinical tables to organizations are ON DELETE RESTRICT (patients, providers):
-- an organization holding PHI cannot be deleted by accident; its patients are erased first.

create table tenant.organizations (
  id                        uuid        not null default gen_random_uuid(),
  name                      text        not null,
  slug                      text        not null,
  status                    text        not null default 'active',
  plan                      text        not null default 'standard',
  max_members               integer     not null default 50,
  max_patients              integer     not null default 10000,
  max_api_keys              integer     not null default 20,
  api_rate_limit_per_minute integer     not null default 600,
  settings                  jsonb       not null default '{}',
  created_at                timestamptz not null default now(),
  updated_at                timestamptz not null default now(),
  constraint organizations_pkey primary key (id),
  constraint organizations_slug_key unique (slug),
  constraint organizations_slug_format check (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'),
  constraint organizations_name_not_blank check (length(btrim(name)) between 1 and 200),
  constraint organizations_status_valid check (status in ('active', 'suspended', 'closing')),
  constraint organizations_plan_valid check (plan in ('trial', 'standard', 'enterprise')),
  constraint organizations_quotas_positive check (
    max_members > 0 and max_patients > 0 and max_api_keys >= 0 and api_rate_limit_per_minute > 0),
  constraint organizations_settings_object check (jsonb_typeof(settings) = 'object')
);

comment on table tenant.organizations is
  'Tenants (clinics, agencies, research partners): slug, quotas (members, patients, API keys, API rate) and settings. Storage quotas live in storage_meta.quotas.';
comment on column tenant.organizations.slug is 'URL-safe unique name: lower-case letters, digits and inner hyphens, at most 63 characters.';

alter table tenant.organizations enable row level security, force row level security;
create policy baseline_deny_all on tenant.organizations as permissive for all to public using (false) with check (false);
create policy owner_full_access on tenant.organizations for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on tenant.organizations
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on tenant.organizations
  for each row execute function audit.log_change('org:id');  -- the organization's own chain

-- ---------------------------------------------------------------------------------------------

create table tenant.instance_settings (
  id            uuid        not null default gen_random_uuid(),
  setting_key   text        not null,
  setting_value jsonb       not null,
  category      text        not null default 'general',
  description   text,
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now(),
  constraint instance_settings_pkey primary key (id),
  constraint instance_settings_key_key unique (setting_key),
  constraint instance_settings_key_format check (setting_key ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'),
  constraint instance_settings_no_secrets check (
    setting_key !~ '(^|[._])(secret|password|passwd|credential|bearer|private_key|api_key|access_token|refresh_token|auth_token)s?($|[._])'),
  constraint instance_settings_category_valid check (category in ('general', 'retention', 'security', 'modules', 'network', 'ui'))
);

comment on table tenant.instance_settings is
  'Settings of this installation (e.g. retention.api_usage_trail_days). Never secrets: keys naming secrets are refused.';

alter table tenant.instance_settings enable row level security, force row level security;
create policy baseline_deny_all on tenant.instance_settings as permissive for all to public using (false) with check (false);
create policy owner_full_access on tenant.instance_settings for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on tenant.instance_settings
  for each row execute function app.set_updated_at();

-- Defaults the retention purge reads (app.purge_expired_data); an operator may change the values.
insert into tenant.instance_settings (setting_key, setting_value, category, description) values
  ('retention.api_usage_trail_days',      '90',  'retention', 'Days to keep tenant.api_key_usage rows.'),
  ('retention.oauth_token_grace_days',  '30',  'retention', 'Days to keep expired or revoked OAuth tokens before deleting them.'),
  ('retention.share_token_grace_days',  '30',  'retention', 'Days to keep expired or revoked share tokens.'),
  ('retention.performance_log_days',    '30',  'retention', 'Days to keep logs.performance_logs rows.'),
  ('retention.deleted_document_days',   '30',  'retention', 'Days a document marked deleted keeps its metadata row.'),
  ('retention.hash_salt_months',        '13',  'retention', 'Months a privacy-hash salt is kept; older hashes become unlinkable.'),
  ('retention.audit_years',             '6',   'retention', 'Years of audit evidence (never less than six: HIPAA).')
on conflict (setting_key) do nothing;

-- ---------------------------------------------------------------------------------------------

create table tenant.instance_module_activations (
  id                  uuid        not null default gen_random_uuid(),
  module_name         text        not null,
  is_active           boolean     not null default false,
  activated_at        timestamptz,
  expires_at          timestamptz,
  activation_key_hash bytea,
  settings            jsonb       not null default '{}',
  created_at          timestamptz not null default now(),
  updated_at          timestamptz not null default now(),
  constraint instance_module_activations_pkey primary key (id),
  constraint instance_module_activations_module_key unique (module_name),
  constraint instance_module_activations_module_valid check (module_name in
    ('ecommerce', 'ai_doctor', 'telehealth', 'cycle_tracking', 'research_network', 'learning')),
  constraint instance_module_activations_active_has_date check (not is_active or activated_at is not null),
  constraint instance_module_activations_expiry_after_activation check (expires_at is null or activated_at is null or expires_at > activated_at),
  constraint instance_module_activations_key_hash_sha256 check (activation_key_hash is null or length(activation_key_hash) = 32),
  constraint instance_module_activations_settings_object check (jsonb_typeof(settings) = 'object')
);

comment on table tenant.instance_module_activations is
  'Optional modules of this installation and whether they are on. tenant.module_is_active() reads it; e-commerce tables refuse writes while their module is off.';
comment on column tenant.instance_module_activations.activation_key_hash is 'sha256 of the licence/activation key (the seed stored it in plain text).';

alter table tenant.instance_module_activations enable row level security, force row level security;
create policy baseline_deny_all on tenant.instance_module_activations as permissive for all to public using (false) with check (false);
create policy owner_full_access on tenant.instance_module_activations for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on tenant.instance_module_activations
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on tenant.instance_module_activations
  for each row execute function audit.log_change();

create or replace function tenant.module_is_active(p_module text)
returns boolean
language sql
stable
security definer
set search_path = ''
as $fn$
  select coalesce((
    select m.is_active and (m.expires_at is null or m.expires_at > now())
      from tenant.instance_module_activations m
     where m.module_name = p_module), false)
$fn$;

comment on function tenant.module_is_active(text) is 'True when the optional module is switched on and not expired. Safe for any caller (reveals only on/off).';

create or replace function tenant.require_module()
returns trigger
language plpgsql
set search_path = ''
as $fn$
begin
  -- TG_ARGV[0]: the module the table belongs to.
  if not tenant.module_is_active(tg_argv[0]) then
    raise exception 'module "%" is not active on this instance: %.% is read-only', tg_argv[0], tg_table_schema, tg_table_name
      using errcode = 'PHM01',
            hint = 'An operator activates it in tenant.instance_module_activations (is_active = true, activated_at = now()).';
  end if;
  return new;
end
$fn$;

comment on function tenant.require_module() is 'BEFORE INSERT/UPDATE trigger refusing writes to an optional module''s tables while the module (TG_ARGV[0]) is off (SQLSTATE PHM01).';

-- ---------------------------------------------------------------------------------------------

create table tenant.instance_network_config (
  id                        uuid        not null default gen_random_uuid(),
  singleton                 boolean     not null default true,
  is_connected_to_network   boolean     not null default false,
  data_contribution_enabled boolean     not null default false,
  contribution_rules        jsonb       not null default '{}',
  network_api_key_encrypted bytea,
  last_contribution_at      timestamptz,
  created_at                timestamptz not null default now(),
  updated_at                timestamptz not null default now(),
  constraint instance_network_config_pkey primary key (id),
  constraint instance_network_config_singleton_key unique (singleton),
  constraint instance_network_config_singleton_true check (singleton),
  constraint instance_network_config_contribution_needs_link check (not data_contribution_enabled or is_connected_to_network),
  constraint instance_network_config_rules_object check (jsonb_typeof(contribution_rules) = 'object'),
  constraint instance_network_config_key_is_ciphertext check (
    network_api_key_encrypted is null or app.phi_ciphertext_key_version(network_api_key_encrypted) is not null)
);

comment on table tenant.instance_network_config is
  'The one row describing this instance''s connection to the research data network and its contribution rules.';
comment on column tenant.instance_network_config.network_api_key_encrypted is
  'Outbound API key of the data network, field-encrypted with app.encrypt_phi (the seed stored it in plain text). Not PHI, but a secret.';

alter table tenant.instance_network_config enable row level security, force row level security;
create policy baseline_deny_all on tenant.instance_network_config as permissive for all to public using (false) with check (false);
create policy owner_full_access on tenant.instance_network_config for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on tenant.instance_network_config
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on tenant.instance_network_config
  for each row execute function audit.log_change();

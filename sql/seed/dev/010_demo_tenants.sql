-- seed/dev/010_demo_tenants.sql
-- What: synthetic demo tenants and people for local/dev databases, so `npm start` gives a database
-- someone can explore. Everything here is invented: names are obviously fake, e-mails use the
-- reserved .example domain, ids are fixed so re-running the file (after an edit) adds nothing twice.
-- No encrypted PHI is seeded: that needs a data key, and keys never appear in this repository.
-- The migrator applies seed files only in local/dev; the guard below refuses anything else.

do $guard$
begin
  if '${env}' not in ('local', 'dev') then
    raise exception 'demo data is for local/dev only, not for environment ${env}';
  end if;
end
$guard$;

insert into tenant.organizations (id, name, slug, plan, settings) values
  ('d0000000-0000-4000-8000-000000000001', 'Demo Clinic (synthetic)',      'demo-clinic',      'standard',   '{"timezone": "UTC", "demo": true}'),
  ('d0000000-0000-4000-8000-000000000002', 'Sandbox Research (synthetic)', 'sandbox-research', 'trial',      '{"demo": true}')
on conflict (id) do nothing;

insert into storage_meta.quotas (organization_id, max_bytes, max_objects, warn_at_percent) values
  ('d0000000-0000-4000-8000-000000000001', 10737418240, 100000, 80)
on conflict (organization_id) do nothing;

insert into app.profiles (id, email, display_name, consent_version, consent_at) values
  ('a0000000-0000-4000-8000-000000000001', 'admin.demo@demo-clinic.example',     'Demo Admin',           '2026-01', now() - interval '60 days'),
  ('a0000000-0000-4000-8000-000000000002', 'dr.placeholder@demo-clinic.example', 'Dr. Ada Placeholder',  '2026-01', now() - interval '60 days'),
  ('a0000000-0000-4000-8000-000000000003', 'testy.mctestface@patient.example',   'Testy McTestface',     '2026-01', now() - interval '30 days'),
  ('a0000000-0000-4000-8000-000000000004', 'sample.patientson@patient.example',  'Sample Patientson',    '2026-01', now() - interval '20 days'),
  ('a0000000-0000-4000-8000-000000000005', 'dev.builder@partner.example',        'Dev Builder (fake)',   null,      null),
  ('a0000000-0000-4000-8000-000000000006', 'rita.researcher@sandbox.example',    'Rita Researcher (fake)', null,    null)
on conflict (id) do nothing;

insert into tenant.organization_members (id, organization_id, user_id, user_type, status, joined_at) values
  ('e0000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'admin',            'active', now() - interval '60 days'),
  ('e0000000-0000-4000-8000-000000000002', 'd0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000002', 'provider',         'active', now() - interval '60 days'),
  ('e0000000-0000-4000-8000-000000000003', 'd0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000003', 'patient',          'active', now() - interval '30 days'),
  ('e0000000-0000-4000-8000-000000000004', 'd0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000004', 'patient',          'active', now() - interval '20 days'),
  ('e0000000-0000-4000-8000-000000000005', 'd0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000005', 'developer',        'active', now() - interval '10 days'),
  ('e0000000-0000-4000-8000-000000000006', 'd0000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000006', 'research-partner', 'active', now() - interval '10 days')
on conflict (id) do nothing;

-- Optional modules: on in dev so every table can be explored.
insert into tenant.instance_module_activations (module_name, is_active, activated_at, settings) values
  ('ecommerce',      true, now(), '{"demo": true}'),
  ('ai_doctor',      true, now(), '{}'),
  ('cycle_tracking', true, now(), '{}'),
  ('learning',       true, now(), '{}')
on conflict (module_name) do nothing;

insert into tenant.instance_network_config (is_connected_to_network, data_contribution_enabled, contribution_rules)
values (false, false, '{"min_cell_size": 11}')
on conflict (singleton) do nothing;

-- seed/dev/020_demo_catalog.sql
-- What: a small reference catalog for demos: conditions (real public ICD-10 codes, which are not
-- PHI), treatments marked as demo entries, fake trials (registry ids in an unused NCT range) and
-- learning resources on example.org.

insert into app.conditions (id, code_system, code, name, category) values
  ('f1000000-0000-4000-8000-000000000001', 'icd10', 'E11.9', 'Type 2 diabetes mellitus without complications', 'endocrine'),
  ('f1000000-0000-4000-8000-000000000002', 'icd10', 'I10',   'Essential (primary) hypertension',               'circulatory'),
  ('f1000000-0000-4000-8000-000000000003', 'icd10', 'F41.1', 'Generalized anxiety disorder',                   'mental_health'),
  ('f1000000-0000-4000-8000-000000000004', 'icd10', 'N94.6', 'Dysmenorrhea, unspecified',                      'reproductive'),
  ('f1000000-0000-4000-8000-000000000005', 'custom', 'demo.sleep-trouble', 'Sleep trouble (demo entry)',       'lifestyle')
on conflict (id) do nothing;

insert into app.treatments (id, name, treatment_type, condition_id, manufacturer, source_verification_method, regulatory_status, description) values
  ('f2000000-0000-4000-8000-000000000001', 'Demo Metformin 500 mg',      'medication', 'f1000000-0000-4000-8000-000000000001', 'Acme Pharma (fictional)', 'regulatory_database', 'approved',   'Demo entry for exploration.'),
  ('f2000000-0000-4000-8000-000000000002', 'Demo Blood Pressure Cuff',   'device',     'f1000000-0000-4000-8000-000000000002', 'Gizmo Devices (fictional)', 'manufacturer_attestation', 'cleared', 'Demo device.'),
  ('f2000000-0000-4000-8000-000000000003', 'Demo Breathing Course',      'therapy',    'f1000000-0000-4000-8000-000000000003', null, 'unverified', 'unapproved', 'Demo therapy program.'),
  ('f2000000-0000-4000-8000-000000000004', 'Demo Magnesium Supplement',  'supplement', 'f1000000-0000-4000-8000-000000000005', 'Vitamin Co (fictional)', 'third_party_lab', 'supplement', 'Demo supplement.')
on conflict (id) do nothing;

insert into app.trials (id, registry_id, title, condition_id, treatment_id, phase, status, sponsor, start_date) values
  ('f3000000-0000-4000-8000-000000000001', 'NCT99999901', 'Demo trial: walking and glucose (fictional)', 'f1000000-0000-4000-8000-000000000001', null, 'phase_2', 'recruiting', 'Demo Sponsor', current_date - 90),
  ('f3000000-0000-4000-8000-000000000002', 'NCT99999902', 'Demo trial: breathing for anxiety (fictional)', 'f1000000-0000-4000-8000-000000000003', 'f2000000-0000-4000-8000-000000000003', 'not_applicable', 'not_yet_recruiting', 'Demo Sponsor', null)
on conflict (id) do nothing;

insert into app.learning_resources (id, organization_id, title, resource_type, content_url, content, related_condition_id, is_published, created_by) values
  ('f4000000-0000-4000-8000-000000000001', null, 'Understanding blood sugar (demo)', 'article', 'https://example.org/demo/blood-sugar', null, 'f1000000-0000-4000-8000-000000000001', true, null),
  ('f4000000-0000-4000-8000-000000000002', 'd0000000-0000-4000-8000-000000000001', 'Box breathing in five minutes (demo)', 'video', 'https://example.org/demo/box-breathing', null, 'f1000000-0000-4000-8000-000000000003', true, 'a0000000-0000-4000-8000-000000000002'),
  ('f4000000-0000-4000-8000-000000000003', null, 'Tracking your cycle privately (demo)', 'article', null, 'Your cycle data is encrypted on your device before it is stored.', 'f1000000-0000-4000-8000-000000000004', true, null)
on conflict (id) do nothing;

-- seed/dev/030_demo_clinic.sql
-- What: the Demo Clinic's providers, two synthetic patients, slots, appointments (dated relative to
-- today, so they fall inside the monthly partitions), a waitlist and consents. Appointments are
-- inserted only when their id is absent (their primary key includes start_time, which moves with
-- the date the seed runs).

insert into app.providers (id, organization_id, profile_id, first_name, last_name, npi, specialties, telehealth, license_state) values
  ('b0000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000002', 'Ada',   'Placeholder', '9999999991', array['psychiatry', 'general_practice'], true,  'CA'),
  ('b0000000-0000-4000-8000-000000000002', 'd0000000-0000-4000-8000-000000000001', null,                                   'Bruno', 'Fictitious',  '9999999992', array['gynecology'],                      false, 'CA')
on conflict (id) do nothing;

insert into app.patients (id, organization_id, profile_id, mrn, first_name, last_name, date_of_birth, sex_at_birth, email, phone) values
  ('c0000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000003', 'DEMO-0001', 'Testy',  'McTestface',  date '1990-01-01', 'unknown', 'testy.mctestface@patient.example',  '+1 555 0100'),
  ('c0000000-0000-4000-8000-000000000002', 'd0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000004', 'DEMO-0002', 'Sample', 'Patientson',  date '1985-06-15', 'female',  'sample.patientson@patient.example', '+1 555 0101')
on conflict (id) do nothing;

insert into app.appointment_slots (id, organization_id, provider_id, starts_at, ends_at, modality, status) values
  ('b1000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000001',
   date_trunc('day', now()) + interval '1 day 9 hours',  date_trunc('day', now()) + interval '1 day 9 hours 50 minutes', 'telehealth', 'booked'),
  ('b1000000-0000-4000-8000-000000000002', 'd0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000001',
   date_trunc('day', now()) + interval '1 day 10 hours', date_trunc('day', now()) + interval '1 day 10 hours 50 minutes', 'telehealth', 'available'),
  ('b1000000-0000-4000-8000-000000000003', 'd0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000002',
   date_trunc('day', now()) + interval '2 days 14 hours', date_trunc('day', now()) + interval '2 days 14 hours 30 minutes', 'in_person', 'available')
on conflict (id) do nothing;

insert into app.appointments (id, start_time, end_time, organization_id, patient_id, provider_id, slot_id, appointment_type, status, modality)
select v.id, v.start_time, v.start_time + v.duration, 'd0000000-0000-4000-8000-000000000001', v.patient_id, v.provider_id, v.slot_id, v.kind, v.status, v.modality
  from (values
    ('b2000000-0000-4000-8000-000000000001'::uuid, date_trunc('day', now()) + interval '1 day 9 hours', interval '50 minutes',
     'c0000000-0000-4000-8000-000000000001'::uuid, 'b0000000-0000-4000-8000-000000000001'::uuid, 'b1000000-0000-4000-8000-000000000001'::uuid,
     'psychotherapy', 'scheduled', 'telehealth'),
    ('b2000000-0000-4000-8000-000000000002'::uuid, date_trunc('day', now()) - interval '14 days' + interval '11 hours', interval '30 minutes',
     'c0000000-0000-4000-8000-000000000002'::uuid, 'b0000000-0000-4000-8000-000000000002'::uuid, null::uuid,
     'consultation', 'completed', 'in_person'),
    ('b2000000-0000-4000-8000-000000000003'::uuid, date_trunc('day', now()) + interval '20 days 15 hours', interval '30 minutes',
     'c0000000-0000-4000-8000-000000000002'::uuid, 'b0000000-0000-4000-8000-000000000002'::uuid, null::uuid,
     'follow_up', 'scheduled', 'in_person')
  ) as v(id, start_time, duration, patient_id, provider_id, slot_id, kind, status, modality)
 where not exists (select from app.appointments a where a.id = v.id);

insert into app.waitlists (id, organization_id, provider_id, name, specialty) values
  ('b3000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000001', 'Telehealth psychiatry (demo)', 'psychiatry')
on conflict (id) do nothing;

insert into app.waitlist_entries (id, organization_id, waitlist_id, patient_id, priority_score, status, requested_modality) values
  ('b4000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000001', 'b3000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000002', 72.50, 'active', 'telehealth')
on conflict (id) do nothing;

insert into app.patient_consents (id, organization_id, patient_id, consent_type, granted_to, valid_until, consent_version) values
  ('b5000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001', 'treatment',                  null,                                   null,                        '2026-01'),
  ('b5000000-0000-4000-8000-000000000002', 'd0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001', 'psychotherapy_notes_access', 'a0000000-0000-4000-8000-000000000002', now() + interval '180 days', '2026-01')
on conflict (id) do nothing;

-- seed/dev/040_demo_tracking.sql
-- What: a few weeks of synthetic tracking data for the demo patients (measurements, mood, food,
-- activity, condition events, goals, insights, learning progress) and one zero-knowledge record
-- whose envelope is a dummy ciphertext (random-looking base64, not real encryption).

insert into app.measurements (id, organization_id, patient_id, measurement_type, value, unit, measured_at, source, treatment_id)
select ('b6000000-0000-4000-8000-' || lpad(d::text, 12, '0'))::uuid, 'd0000000-0000-4000-8000-000000000001',
       'c0000000-0000-4000-8000-000000000001', 'glucose_fasting', 95 + (d * 7) % 23, 'mg/dL',
       date_trunc('day', now()) - make_interval(days => d) + interval '7 hours', 'manual', null
  from generate_series(1, 14) as d
on conflict (id) do nothing;

insert into app.mood_entries (id, organization_id, patient_id, mood_score, notes, recorded_at)
select ('b7000000-0000-4000-8000-' || lpad(d::text, 12, '0'))::uuid, 'd0000000-0000-4000-8000-000000000001',
       'c0000000-0000-4000-8000-000000000001', 1 + (d * 3) % 10,
       case when d % 4 = 0 then 'Demo note: slept badly (synthetic).' end,
       date_trunc('day', now()) - make_interval(days => d) + interval '20 hours'
  from generate_series(1, 14) as d
on conflict (id) do nothing;

insert into app.patient_food_log (id, organization_id, patient_id, consumed_at, food_name, quantity, unit, calories, protein_g, carbs_g, fat_g) values
  ('b8000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001', now() - interval '1 day 5 hours', 'Demo oatmeal', 1, 'bowl', 320, 10, 54, 6),
  ('b8000000-0000-4000-8000-000000000002', 'd0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001', now() - interval '1 day',         'Demo salad',   1, 'plate', 410, 18, 22, 25)
on conflict (id) do nothing;

insert into app.patient_activity_log (id, organization_id, patient_id, activity_type, performed_at, duration_minutes, intensity, calories_burned) values
  ('b9000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001', 'walking', now() - interval '2 days', 40, 'moderate', 180),
  ('b9000000-0000-4000-8000-000000000002', 'd0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001', 'yoga',    now() - interval '1 day',  25, 'low',      90)
on conflict (id) do nothing;

insert into app.patient_condition_events (id, organization_id, patient_id, condition_id, event_type, occurred_at, severity) values
  ('ba000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001', 'f1000000-0000-4000-8000-000000000001', 'diagnosed', now() - interval '300 days', null),
  ('ba000000-0000-4000-8000-000000000002', 'd0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000002', 'f1000000-0000-4000-8000-000000000004', 'symptom',   now() - interval '5 days',   4)
on conflict (id) do nothing;

insert into app.patient_health_goals (id, organization_id, patient_id, title, target_value, current_value, unit, start_date, target_date) values
  ('bb000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001', 'Walk 8000 steps a day (demo)', 8000, 5200, 'steps', current_date - 14, current_date + 60)
on conflict (id) do nothing;

insert into app.patient_insights (id, organization_id, patient_id, insight_type, insight_text, confidence_score, data_sources) values
  ('bc000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001', 'correlation',
   'Demo insight: mood tends to be higher on days with a walk (synthetic).', 0.620, '["app.mood_entries", "app.patient_activity_log"]')
on conflict (id) do nothing;

insert into app.patient_learning_progress (id, organization_id, patient_id, resource_id, progress_percent, last_accessed_at) values
  ('bd000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001', 'f4000000-0000-4000-8000-000000000001', 40, now() - interval '3 days')
on conflict (id) do nothing;

insert into app.encrypted_cycle_data (id, user_id, envelope, version) values
  ('be000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000004',
   '{"v": 1, "alg": "AES-256-GCM", "kid": "demo-device", "iv": "ZGVtby1pdi0xMjM0", "ct": "ZGVtby1jaXBoZXJ0ZXh0LW5vdC1yZWFsLWRhdGE="}', 1)
on conflict (id) do nothing;

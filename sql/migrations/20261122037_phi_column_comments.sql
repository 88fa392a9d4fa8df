-- 20261122037_phi_column_comments.sql
-- What: the 'PHI:' comments earlier migrations left out, so reports (phi-db report, the audit
-- report's PHI inventory) find every column that holds a patient's health information.
-- The rule (test/db/schema-apply.test.ts enforces it): in a table holding a patient's data (it has
-- patient_id / subject_patient_id / launch_patient_id / user_id of a person, is app.patients or
-- app.profiles, or is a child row of such a table) every column is PHI unless it is a key (primary or
-- foreign), a bookkeeping timestamp (created_at, updated_at, deleted_at, expiry/revocation of an
-- access grant or token), or otherwise clearly not about the person (credentials' digests, technical
-- metadata of stored objects, access-control state). The reviewed exceptions are listed, with their
-- reason, in that test.
-- Also marks the materialized views whose rows can describe one patient with a comment starting
-- 'PHI:' (relation and columns): app.erase_patient refreshes every materialized view so marked
-- (sql/functions/070_gdpr_erasure.sql), so the patient's figures do not outlive the erasure.
--   analytics_private.patient_mood_summary    already 'PHI:' (one row per patient); columns marked here
--   analytics_private.organization_dashboard  mood figures per organization: in an organization with a
--                                             few patients they are those patients' figures
-- Comments only: no data, lock or rewrite beyond a catalog update.

-- Scheduling -----------------------------------------------------------------------------------------

comment on column app.appointments.status is
  'PHI: whether the care took place (scheduled, completed, no_show, cancelled, ...): part of the encounter record.';
comment on column app.appointments.modality is
  'PHI: how the care was delivered (in person or telehealth).';
comment on column app.waitlist_entries.status is
  'PHI: where the patient stands in the wait for care (active, offered, booked, withdrawn, expired).';
comment on column app.waitlist_entries.requested_modality is
  'PHI: how the patient asked to be seen (in person or telehealth).';

-- People ------------------------------------------------------------------------------------------------

comment on column app.patients.status is
  'PHI: active, inactive or deceased (a death is PHI).';
comment on column app.profiles.locale is
  'PHI: the person''s language and region (quasi-identifier).';
comment on column app.profiles.timezone is
  'PHI: the person''s time zone (quasi-identifier: where they live).';

-- Patient tracking -------------------------------------------------------------------------------------

comment on column app.measurements.unit is
  'PHI: unit of the measured value (reveals what was measured, e.g. mg/dL).';
comment on column app.measurements.source is
  'PHI: how the value was obtained (manual, device, import, lab, provider): reveals care and devices used.';

comment on column app.patient_food_log.quantity is
  'PHI: how much was eaten.';
comment on column app.patient_food_log.unit is
  'PHI: unit of the quantity eaten.';
comment on column app.patient_food_log.calories is
  'PHI: energy intake (kcal).';
comment on column app.patient_food_log.protein_g is
  'PHI: protein intake (g).';
comment on column app.patient_food_log.carbs_g is
  'PHI: carbohydrate intake (g).';
comment on column app.patient_food_log.fat_g is
  'PHI: fat intake (g).';

comment on column app.patient_activity_log.duration_minutes is
  'PHI: how long the activity lasted.';
comment on column app.patient_activity_log.intensity is
  'PHI: how intense the activity was (low to very_high).';
comment on column app.patient_activity_log.calories_burned is
  'PHI: energy spent in the activity (kcal).';

comment on column app.patient_health_goals.unit is
  'PHI: unit of the goal''s values (reveals what is tracked, e.g. % HbA1c).';
comment on column app.patient_health_goals.start_date is
  'PHI: when the patient started working towards the goal.';
comment on column app.patient_health_goals.target_date is
  'PHI: when the patient means to reach the goal.';
comment on column app.patient_health_goals.status is
  'PHI: progress on the goal (active, achieved, paused, abandoned).';

comment on column app.patient_insights.insight_type is
  'PHI: kind of finding about the patient''s health (trend, correlation, recommendation, alert, milestone).';
comment on column app.patient_insights.confidence_score is
  'PHI: confidence of the finding about the patient''s health (0-1).';
comment on column app.patient_insights.viewed_at is
  'PHI: when the patient read the finding about their health.';
comment on column app.patient_insights.is_hidden is
  'PHI: the patient chose to hide the finding about their health.';

comment on column app.patient_learning_progress.progress_percent is
  'PHI: how far the patient is through a resource about their condition or treatment.';
comment on column app.patient_learning_progress.completed_at is
  'PHI: when the patient finished a resource about their condition or treatment.';
comment on column app.patient_learning_progress.last_accessed_at is
  'PHI: when the patient last studied a resource about their condition or treatment.';

comment on column app.patient_data_import_sources.source_name is
  'PHI: the patient''s name for a health service or device they use (free text, may name a clinic or condition).';

comment on column app.ai_doctor_sessions.ended_at is
  'PHI: when the patient''s session ended (with started_at: time and length of the consultation).';

-- Zero-knowledge sharing -------------------------------------------------------------------------------

comment on column app.healthcare_shares.scopes is
  'PHI: which kinds of the person''s health data are shared (e.g. cycle, symptoms).';

-- E-commerce (health products: what a patient buys can reveal a condition) ------------------------------

comment on column app.orders.status is
  'PHI: state of the patient''s purchase of health products (paid, shipped, refunded, ...).';
comment on column app.orders.total_amount is
  'PHI: what the patient paid for health products (payment for health care).';
comment on column app.order_items.quantity is
  'PHI: how many of a health product the patient bought.';
comment on column app.order_items.price_per_unit is
  'PHI: what the patient paid per unit (payment for health care).';
comment on column app.order_items.batch_lot_info is
  'PHI: the batch/lot the patient received (traceability: ties the patient to a specific product batch).';
comment on column app.cart_items.quantity is
  'PHI: how many of a health product the patient intends to buy.';
comment on column app.cart_items.added_at is
  'PHI: when the patient chose the product.';

-- Cache ---------------------------------------------------------------------------------------------------

comment on column cache.analysis_results.analysis_type is
  'PHI: which analysis was run about the patient (e.g. mood_trend); with subject_patient_id it reveals the care.';

-- Materialized views ---------------------------------------------------------------------------------------

comment on column analytics_private.patient_mood_summary.avg_mood_7_days is
  'PHI: the patient''s average mood score over 7 days.';
comment on column analytics_private.patient_mood_summary.avg_mood_30_days is
  'PHI: the patient''s average mood score over 30 days.';
comment on column analytics_private.patient_mood_summary.entries_7_days is
  'PHI: the patient''s mood entries in 7 days.';
comment on column analytics_private.patient_mood_summary.entries_30_days is
  'PHI: the patient''s mood entries in 30 days.';
comment on column analytics_private.patient_mood_summary.entries_90_days is
  'PHI: the patient''s mood entries in 90 days.';
comment on column analytics_private.patient_mood_summary.last_entry_at is
  'PHI: when the patient last recorded a mood.';
comment on column analytics_private.patient_mood_summary.current_streak_days is
  'PHI: consecutive days on which the patient recorded a mood.';

comment on materialized view analytics_private.organization_dashboard is
  'PHI: per organization: active/new patients, providers, appointments in the next 7 days and the last 30 days by outcome (no-show rate), active waitlist, mood entries and average, documents. The mood figures of an organization with few patients describe those patients: app.erase_patient refreshes this view. Read through tenant.organization_dashboard(org), which withholds the mood figures under 11 patients.';
comment on column analytics_private.organization_dashboard.mood_entries_30_days is
  'PHI: mood entries of the organization''s patients in 30 days (describes individuals when they are few).';
comment on column analytics_private.organization_dashboard.avg_mood_30_days is
  'PHI: average mood score of the organization''s patients over 30 days (one patient''s mood when only one recorded).';

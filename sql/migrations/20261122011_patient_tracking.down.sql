-- phi-db:allow-destructive rolls back 20261122011_patient_tracking in local/dev: drops the patient tracking tables
-- 20261122011_patient_tracking.down.sql: reverses 20261122011_patient_tracking.sql.
drop table if exists app.patient_learning_progress;
drop table if exists app.patient_health_goals;
drop table if exists app.patient_insights;
drop table if exists app.patient_condition_events;
drop table if exists app.patient_activity_log;
drop table if exists app.patient_food_log;
drop table if exists app.mood_entries;
drop table if exists app.measurements;
drop table if exists app.patient_data_import_sources;

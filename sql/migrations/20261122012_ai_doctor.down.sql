-- phi-db:allow-destructive rolls back 20261122012_ai_doctor in local/dev: drops the AI-doctor tables
-- 20261122012_ai_doctor.down.sql: reverses 20261122012_ai_doctor.sql.
drop table if exists app.ai_doctor_sharing_permissions;
drop table if exists app.ai_doctor_sessions;

-- 20261122038_audit_instance_settings.down.sql: reverses 20261122038 (local/dev only).
drop trigger if exists audit_changes on tenant.instance_settings;

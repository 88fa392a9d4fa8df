-- phi-db:allow-destructive rolls back 20261122031_audit_log_archive in local/dev only: drops the archive of detached audit partitions
-- 20261122031_audit_log_archive.down.sql: reverses 20261122031_audit_log_archive.sql.
drop table if exists audit.log_archive;

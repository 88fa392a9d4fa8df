-- phi-db:allow-destructive rolls back 20261122002_audit_log in local/dev only (never in staging/prod): drops the audit log, its partitions and chain heads
-- 20261122002_audit_log.down.sql: reverses 20261122002_audit_log.sql.
drop function if exists audit.log_change();
drop function if exists audit.entry_hash(bytea, audit.log);
drop function if exists audit.entry_payload(audit.log);
drop table if exists audit.log;
drop function if exists audit.refuse_mutation();
drop table if exists audit.chain_heads;
drop function if exists audit.privacy_hash(text);
drop table if exists audit.hash_salts;

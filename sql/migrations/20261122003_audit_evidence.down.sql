-- phi-db:allow-destructive rolls back 20261122003_audit_evidence in local/dev only (never in staging/prod): drops the evidence tables
-- 20261122003_audit_evidence.down.sql: reverses 20261122003_audit_evidence.sql.
drop function if exists audit.record_phi_access(uuid, uuid, regclass, text[], text);
drop function if exists audit.record_share_access(uuid, uuid, text, text, jsonb, text);
drop function if exists audit.record_security_event(text, text, jsonb, uuid, text);
drop table if exists audit.erasure_log;
drop table if exists audit.share_audit;
drop table if exists audit.security_events;
drop table if exists audit.phi_access_log;
drop function if exists audit.details_are_privacy_safe(jsonb);
drop function if exists audit.guard_evidence();
drop function if exists audit.stamp_evidence();
drop function if exists audit.evidence_retention();

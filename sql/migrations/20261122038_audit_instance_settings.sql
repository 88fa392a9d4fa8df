-- 20261122038_audit_instance_settings.sql
-- What: tenant.instance_settings gets the generic audit trigger (audit.log_change), like the module
-- activations and the network configuration already have.
-- Why: since `phi-db up` writes the stack's request guard (security.ip_allowlist,
-- security.business_hours) and retention settings live here, a change to who may reach PHI from where
-- and when, or to how long evidence is kept, must leave evidence of its own: which setting changed,
-- when, by which role and session (field names only, never values; the instance chain, since
-- settings belong to no organization).

create trigger audit_changes after insert or update or delete on tenant.instance_settings
  for each row execute function audit.log_change();

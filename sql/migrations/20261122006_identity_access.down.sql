-- phi-db:allow-destructive rolls back 20261122006_identity_access in local/dev: drops profiles, memberships and API keys
-- 20261122006_identity_access.down.sql: reverses 20261122006_identity_access.sql.
drop table if exists tenant.api_key_usage;
drop table if exists tenant.api_keys;
drop table if exists tenant.organization_members;
drop table if exists app.profiles;

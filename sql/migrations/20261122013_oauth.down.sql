-- phi-db:allow-destructive rolls back 20261122013_oauth in local/dev: drops the OAuth tables
-- 20261122013_oauth.down.sql: reverses 20261122013_oauth.sql.
drop table if exists tenant.oauth_refresh_tokens;
drop table if exists tenant.oauth_access_tokens;
drop table if exists tenant.oauth_clients;
drop table if exists tenant.oauth_scopes;
drop function if exists tenant.all_match(text[], text);

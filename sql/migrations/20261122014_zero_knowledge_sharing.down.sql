-- phi-db:allow-destructive rolls back 20261122014_zero_knowledge_sharing in local/dev: drops the zero-knowledge and sharing tables
-- 20261122014_zero_knowledge_sharing.down.sql: reverses 20261122014_zero_knowledge_sharing.sql.
drop table if exists app.device_keys;
drop table if exists app.share_tokens;
drop table if exists app.healthcare_shares;
drop table if exists app.encrypted_cycle_data;
drop table if exists app.encrypted_user_prefs;
drop function if exists app.is_crypto_envelope(jsonb);

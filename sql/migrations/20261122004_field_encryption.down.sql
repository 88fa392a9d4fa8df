-- phi-db:allow-destructive rolls back 20261122004_field_encryption in local/dev: drops the key registry
-- 20261122004_field_encryption.down.sql: reverses 20261122004_field_encryption.sql.
drop table if exists app.encryption_keys;
drop function if exists app.phi_ciphertext_key_version(bytea);

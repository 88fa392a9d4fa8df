-- phi-db:allow-destructive rolls back 20261122001_foundation in local/dev: drops the helper functions it created
-- 20261122001_foundation.down.sql: reverses 20261122001_foundation.sql.
drop function if exists app.ensure_monthly_partitions(regclass, integer, integer);
drop function if exists app.create_monthly_partition(regclass, date);
drop function if exists app.create_default_partition(regclass);
drop function if exists app.partition_key_column(regclass);
drop function if exists app.copy_partition_safeguards(regclass, regclass);
drop function if exists app.set_updated_at();
drop function if exists auth.client_ip();
drop function if exists auth.session_id();
drop function if exists auth.org_id();
drop function if exists auth.role();
drop function if exists auth.uid();
drop function if exists auth.try_uuid(text);
drop function if exists auth.jwt();

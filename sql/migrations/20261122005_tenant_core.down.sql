-- phi-db:allow-destructive rolls back 20261122005_tenant_core in local/dev: drops organizations and instance configuration
-- 20261122005_tenant_core.down.sql: reverses 20261122005_tenant_core.sql.
drop table if exists tenant.instance_network_config;
drop function if exists tenant.require_module();
drop function if exists tenant.module_is_active(text);
drop table if exists tenant.instance_module_activations;
drop table if exists tenant.instance_settings;
drop table if exists tenant.organizations;

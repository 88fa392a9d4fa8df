-- policies/010_tenant.sql
-- What: row-level security and table privileges for schema tenant (organizations, memberships,
-- credentials metadata, OAuth, instance configuration).
--   authenticated  members see their own organizations; admins manage their own organization and its
--                  members; admins and developers see their organization's API keys (created and
--                  revoked through tenant.create_api_key / tenant.revoke_api_key) and manage its OAuth
--                  clients; a person sees and revokes their own OAuth tokens. Instance configuration
--                  is not readable (tenant.module_is_active() answers on/off).
--   service_role   trusted back end (provisioning, authorization server, jobs): reads and writes
--                  tenant metadata of every organization, never deletes (no DELETE privilege).
-- Every write policy has WITH CHECK, so a row cannot be written into (or moved to) an organization
-- the caller may not manage. Helpers are called as (select ...) so they run once per statement.
-- Where a role may write every organization's rows (service_role), its UPDATE check compares the new
-- row with the stored one (a subquery by primary key, read with the role's own SELECT policy): the
-- organization (and, for tokens, the person) of a row never changes. For signed-in users the
-- restrictive token_keeps_person policies do the same for tokens: nobody hands a token to another
-- person (nor takes one over).
-- baseline_deny_all and the owner policies of the migrations stay: the first makes any table without
-- a matching policy deny-by-default, the second is the owner's (migrations, jobs) explicit access.
-- Grants and policies together: each table's privileges are set in this file, next to its policies:
-- `revoke all` from PUBLIC and every NOLOGIN role of the access model, then `grant` exactly the commands
-- a policy lets the role use (the migrator's checks fail on a privilege no policy backs and on a policy
-- whose privilege is missing). Re-running the file converges any database, whatever it held before.

-- tenant.organizations ---------------------------------------------------------------------------
revoke all on tenant.organizations from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select, update on tenant.organizations to authenticated;
grant select, insert, update on tenant.organizations to service_role;

drop policy if exists member_select on tenant.organizations;
create policy member_select on tenant.organizations for select to authenticated
  using (id = any ((select tenant.rls_org_ids())::uuid[]));

drop policy if exists admin_update on tenant.organizations;
create policy admin_update on tenant.organizations for update to authenticated
  using (id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]))
  with check (id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));

drop policy if exists service_select on tenant.organizations;
create policy service_select on tenant.organizations for select to service_role using (true);
drop policy if exists service_insert on tenant.organizations;
create policy service_insert on tenant.organizations for insert to service_role with check (true);
drop policy if exists service_update on tenant.organizations;
create policy service_update on tenant.organizations for update to service_role using (true) with check (true);

-- tenant.organization_members --------------------------------------------------------------------
revoke all on tenant.organization_members from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select, insert, update, delete on tenant.organization_members to authenticated;
grant select, insert, update on tenant.organization_members to service_role;

drop policy if exists self_select on tenant.organization_members;
create policy self_select on tenant.organization_members for select to authenticated
  using (user_id = (select auth.uid()));

drop policy if exists admin_select on tenant.organization_members;
create policy admin_select on tenant.organization_members for select to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));

drop policy if exists admin_insert on tenant.organization_members;
create policy admin_insert on tenant.organization_members for insert to authenticated
  with check (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));

drop policy if exists admin_update on tenant.organization_members;
create policy admin_update on tenant.organization_members for update to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]))
  with check (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));

drop policy if exists admin_delete on tenant.organization_members;
create policy admin_delete on tenant.organization_members for delete to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));

drop policy if exists service_select on tenant.organization_members;
create policy service_select on tenant.organization_members for select to service_role using (true);
drop policy if exists service_insert on tenant.organization_members;
create policy service_insert on tenant.organization_members for insert to service_role with check (true);
drop policy if exists service_update on tenant.organization_members;
create policy service_update on tenant.organization_members for update to service_role using (true)
  with check (organization_id = (select m.organization_id from tenant.organization_members m where m.id = organization_members.id));

-- tenant.api_keys, tenant.api_key_usage (hashes and usage; keys are created/revoked by functions) ---
revoke all on tenant.api_keys from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select on tenant.api_keys to authenticated;
revoke all on tenant.api_key_usage from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select on tenant.api_key_usage to authenticated;

drop policy if exists manager_select on tenant.api_keys;
create policy manager_select on tenant.api_keys for select to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin', 'developer']))::uuid[]));

drop policy if exists manager_select on tenant.api_key_usage;
create policy manager_select on tenant.api_key_usage for select to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin', 'developer']))::uuid[]));

-- tenant.oauth_clients -----------------------------------------------------------------------------
revoke all on tenant.oauth_clients from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select, insert, update, delete on tenant.oauth_clients to authenticated;
grant select on tenant.oauth_clients to service_role;

drop policy if exists manager_select on tenant.oauth_clients;
create policy manager_select on tenant.oauth_clients for select to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin', 'developer']))::uuid[]));

drop policy if exists manager_insert on tenant.oauth_clients;
create policy manager_insert on tenant.oauth_clients for insert to authenticated
  with check (organization_id = any ((select tenant.rls_org_ids(array['admin', 'developer']))::uuid[]));

drop policy if exists manager_update on tenant.oauth_clients;
create policy manager_update on tenant.oauth_clients for update to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin', 'developer']))::uuid[]))
  with check (organization_id = any ((select tenant.rls_org_ids(array['admin', 'developer']))::uuid[]));

drop policy if exists manager_delete on tenant.oauth_clients;
create policy manager_delete on tenant.oauth_clients for delete to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin', 'developer']))::uuid[]));

drop policy if exists service_select on tenant.oauth_clients;
create policy service_select on tenant.oauth_clients for select to service_role using (true);

-- tenant.oauth_access_tokens, tenant.oauth_refresh_tokens (hashes only) -----------------------------
revoke all on tenant.oauth_access_tokens from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select, update on tenant.oauth_access_tokens to authenticated;
grant select, insert, update on tenant.oauth_access_tokens to service_role;
revoke all on tenant.oauth_refresh_tokens from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select, update on tenant.oauth_refresh_tokens to authenticated;
grant select, insert, update on tenant.oauth_refresh_tokens to service_role;
-- A person sees and revokes their own tokens; an admin those of the organization; the authorization
-- server (service_role) issues, reads and rotates them.

drop policy if exists self_select on tenant.oauth_access_tokens;
create policy self_select on tenant.oauth_access_tokens for select to authenticated
  using (user_id = (select auth.uid()));
drop policy if exists self_update on tenant.oauth_access_tokens;
create policy self_update on tenant.oauth_access_tokens for update to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()) and organization_id = any ((select tenant.rls_org_ids())::uuid[]));
drop policy if exists admin_select on tenant.oauth_access_tokens;
create policy admin_select on tenant.oauth_access_tokens for select to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));
drop policy if exists admin_update on tenant.oauth_access_tokens;
create policy admin_update on tenant.oauth_access_tokens for update to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]))
  with check (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));
-- Permissive policies are ORed, USING and WITH CHECK separately: without this, an admin could reach a
-- token through admin_update and pass self_update's check by making it their own.
drop policy if exists token_keeps_person on tenant.oauth_access_tokens;
create policy token_keeps_person on tenant.oauth_access_tokens as restrictive for update to authenticated
  using (true)
  with check (user_id = tenant.rls_token_user_id('tenant.oauth_access_tokens', id));
drop policy if exists service_select on tenant.oauth_access_tokens;
create policy service_select on tenant.oauth_access_tokens for select to service_role using (true);
drop policy if exists service_insert on tenant.oauth_access_tokens;
create policy service_insert on tenant.oauth_access_tokens for insert to service_role with check (true);
drop policy if exists service_update on tenant.oauth_access_tokens;
create policy service_update on tenant.oauth_access_tokens for update to service_role using (true)
  with check ((organization_id, user_id) = (select t.organization_id, t.user_id from tenant.oauth_access_tokens t where t.id = oauth_access_tokens.id));

drop policy if exists self_select on tenant.oauth_refresh_tokens;
create policy self_select on tenant.oauth_refresh_tokens for select to authenticated
  using (user_id = (select auth.uid()));
drop policy if exists self_update on tenant.oauth_refresh_tokens;
create policy self_update on tenant.oauth_refresh_tokens for update to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()) and organization_id = any ((select tenant.rls_org_ids())::uuid[]));
drop policy if exists admin_select on tenant.oauth_refresh_tokens;
create policy admin_select on tenant.oauth_refresh_tokens for select to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));
drop policy if exists admin_update on tenant.oauth_refresh_tokens;
create policy admin_update on tenant.oauth_refresh_tokens for update to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]))
  with check (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));
-- Permissive policies are ORed, USING and WITH CHECK separately: without this, an admin could reach a
-- token through admin_update and pass self_update's check by making it their own.
drop policy if exists token_keeps_person on tenant.oauth_refresh_tokens;
create policy token_keeps_person on tenant.oauth_refresh_tokens as restrictive for update to authenticated
  using (true)
  with check (user_id = tenant.rls_token_user_id('tenant.oauth_refresh_tokens', id));
drop policy if exists service_select on tenant.oauth_refresh_tokens;
create policy service_select on tenant.oauth_refresh_tokens for select to service_role using (true);
drop policy if exists service_insert on tenant.oauth_refresh_tokens;
create policy service_insert on tenant.oauth_refresh_tokens for insert to service_role with check (true);
drop policy if exists service_update on tenant.oauth_refresh_tokens;
create policy service_update on tenant.oauth_refresh_tokens for update to service_role using (true)
  with check ((organization_id, user_id) = (select t.organization_id, t.user_id from tenant.oauth_refresh_tokens t where t.id = oauth_refresh_tokens.id));

-- tenant.oauth_scopes (the catalogue of scopes this server grants; not tenant data) -----------------
revoke all on tenant.oauth_scopes from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select on tenant.oauth_scopes to authenticated;
grant select on tenant.oauth_scopes to service_role;

drop policy if exists signed_in_select on tenant.oauth_scopes;
create policy signed_in_select on tenant.oauth_scopes for select to authenticated
  using ((select auth.uid()) is not null);
drop policy if exists service_select on tenant.oauth_scopes;
create policy service_select on tenant.oauth_scopes for select to service_role using (true);

-- Instance configuration: the back end only (operators change it as the owner) ----------------------
revoke all on tenant.instance_settings from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select on tenant.instance_settings to service_role;
revoke all on tenant.instance_module_activations from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select on tenant.instance_module_activations to service_role;
revoke all on tenant.instance_network_config from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select, update on tenant.instance_network_config to service_role;

drop policy if exists service_select on tenant.instance_settings;
create policy service_select on tenant.instance_settings for select to service_role using (true);

drop policy if exists service_select on tenant.instance_module_activations;
create policy service_select on tenant.instance_module_activations for select to service_role using (true);

drop policy if exists service_select on tenant.instance_network_config;
create policy service_select on tenant.instance_network_config for select to service_role using (true);
drop policy if exists service_update on tenant.instance_network_config;
create policy service_update on tenant.instance_network_config for update to service_role using (true) with check (true);

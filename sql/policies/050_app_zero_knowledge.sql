-- policies/050_app_zero_knowledge.sql
-- What: row-level security and table privileges for the zero-knowledge cycle tracker's data and its
-- sharing.
-- These rows belong to a person (user_id = auth.uid()), not to an organization.
--   encrypted_user_prefs, encrypted_cycle_data  the owner only (read, write, delete). The server
--                          never sees plaintext; service_role has no privilege in schema app at all.
--   healthcare_shares      the owner manages them; the recipient provider reads an active, unexpired
--                          share addressed to one of their provider records.
--   share_tokens           the owner of the share reads, revokes (update) and deletes them; tokens are
--                          created by app.create_share_token and redeemed anonymously ONLY through
--                          auth.validate_share_token (anon has no table privilege anywhere).
--   device_keys            the owner reads them and may revoke (update); registration and rotation
--                          go through app.rotate_device_key (hashes the device id, logs the event).
-- Grants and policies together: each table's privileges are set in this file, next to its policies:
-- `revoke all` from PUBLIC and every NOLOGIN role of the access model, then `grant` exactly the commands
-- a policy lets the role use (the migrator's checks fail on a privilege no policy backs and on a policy
-- whose privilege is missing). Re-running the file converges any database, whatever it held before.

-- app.encrypted_user_prefs -------------------------------------------------------------------------
revoke all on app.encrypted_user_prefs from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select, insert, update, delete on app.encrypted_user_prefs to authenticated;

drop policy if exists self_select on app.encrypted_user_prefs;
create policy self_select on app.encrypted_user_prefs for select to authenticated
  using (user_id = (select auth.uid()));
drop policy if exists self_insert on app.encrypted_user_prefs;
create policy self_insert on app.encrypted_user_prefs for insert to authenticated
  with check (user_id = (select auth.uid()));
drop policy if exists self_update on app.encrypted_user_prefs;
create policy self_update on app.encrypted_user_prefs for update to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));
drop policy if exists self_delete on app.encrypted_user_prefs;
create policy self_delete on app.encrypted_user_prefs for delete to authenticated
  using (user_id = (select auth.uid()));

-- app.encrypted_cycle_data -------------------------------------------------------------------------
revoke all on app.encrypted_cycle_data from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select, insert, update, delete on app.encrypted_cycle_data to authenticated;

drop policy if exists self_select on app.encrypted_cycle_data;
create policy self_select on app.encrypted_cycle_data for select to authenticated
  using (user_id = (select auth.uid()));
drop policy if exists self_insert on app.encrypted_cycle_data;
create policy self_insert on app.encrypted_cycle_data for insert to authenticated
  with check (user_id = (select auth.uid()));
drop policy if exists self_update on app.encrypted_cycle_data;
create policy self_update on app.encrypted_cycle_data for update to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));
drop policy if exists self_delete on app.encrypted_cycle_data;
create policy self_delete on app.encrypted_cycle_data for delete to authenticated
  using (user_id = (select auth.uid()));

-- app.healthcare_shares ----------------------------------------------------------------------------
revoke all on app.healthcare_shares from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select, insert, update, delete on app.healthcare_shares to authenticated;

drop policy if exists self_select on app.healthcare_shares;
create policy self_select on app.healthcare_shares for select to authenticated
  using (user_id = (select auth.uid()));
drop policy if exists self_insert on app.healthcare_shares;
create policy self_insert on app.healthcare_shares for insert to authenticated
  with check (user_id = (select auth.uid()));
drop policy if exists self_update on app.healthcare_shares;
create policy self_update on app.healthcare_shares for update to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));
drop policy if exists self_delete on app.healthcare_shares;
create policy self_delete on app.healthcare_shares for delete to authenticated
  using (user_id = (select auth.uid()));

drop policy if exists recipient_select on app.healthcare_shares;
create policy recipient_select on app.healthcare_shares for select to authenticated
  using (recipient_provider_id = any ((select app.rls_provider_ids())::uuid[])
         and status = 'active' and revoked_at is null and expires_at > now());

-- app.share_tokens (hashes only) ---------------------------------------------------------------------
revoke all on app.share_tokens from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select, update, delete on app.share_tokens to authenticated;

drop policy if exists share_owner_select on app.share_tokens;
create policy share_owner_select on app.share_tokens for select to authenticated
  using (share_id = any ((select app.rls_own_share_ids())::uuid[]));
drop policy if exists share_owner_update on app.share_tokens;
create policy share_owner_update on app.share_tokens for update to authenticated
  using (share_id = any ((select app.rls_own_share_ids())::uuid[]))
  with check (share_id = any ((select app.rls_own_share_ids())::uuid[]));
drop policy if exists share_owner_delete on app.share_tokens;
create policy share_owner_delete on app.share_tokens for delete to authenticated
  using (share_id = any ((select app.rls_own_share_ids())::uuid[]));

-- app.device_keys (public keys only) -----------------------------------------------------------------
revoke all on app.device_keys from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select, update on app.device_keys to authenticated;

drop policy if exists self_select on app.device_keys;
create policy self_select on app.device_keys for select to authenticated
  using (user_id = (select auth.uid()));
drop policy if exists self_update on app.device_keys;
create policy self_update on app.device_keys for update to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));

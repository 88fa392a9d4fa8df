-- policies/080_audit.sql
-- What: row-level security and table privileges for the audit evidence (schema audit), next to the
-- owner's read/append/purge policies of the migrations. The partitioned tables (audit.log and its
-- archive) pass their policies AND privileges on to every existing partition (app.sync_partition_policies).
--   auditor       reads every evidence table: the change log and its archive (and each of their
--                 partitions), the chain heads, the PHI read log, security events, share audit and
--                 erasure receipts; and may run audit.verify_chain(). NOT audit.hash_salts: with a
--                 salt, the month's IP and device hashes could be reversed by trying candidates.
--   service_role  appends security events the back end detects (its only privilege in audit: INSERT on audit.security_events;
--                 timestamps are set by the database, UPDATE/DELETE are refused by triggers anyway).
--   authenticated, anon: nothing (no privilege on schema audit). Request roles write evidence only
--                 through the SECURITY DEFINER writers the access functions call.
-- Grants and policies together: each table's privileges are set in this file, next to its policies:
-- `revoke all` from PUBLIC and every NOLOGIN role of the access model, then `grant` exactly the commands
-- a policy lets the role use (the migrator's checks fail on a privilege no policy backs and on a policy
-- whose privilege is missing). Re-running the file converges any database, whatever it held before.

revoke all on audit.log from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select on audit.log to auditor;
drop policy if exists auditor_read on audit.log;
create policy auditor_read on audit.log for select to auditor using (true);
select app.sync_partition_policies('audit.log');

revoke all on audit.log_archive from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select on audit.log_archive to auditor;
drop policy if exists auditor_read on audit.log_archive;
create policy auditor_read on audit.log_archive for select to auditor using (true);
select app.sync_partition_policies('audit.log_archive');

revoke all on audit.chain_heads from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select on audit.chain_heads to auditor;
drop policy if exists auditor_read on audit.chain_heads;
create policy auditor_read on audit.chain_heads for select to auditor using (true);

revoke all on audit.phi_access_log from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select on audit.phi_access_log to auditor;
drop policy if exists auditor_read on audit.phi_access_log;
create policy auditor_read on audit.phi_access_log for select to auditor using (true);

revoke all on audit.security_events from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select on audit.security_events to auditor;
grant insert on audit.security_events to service_role;
drop policy if exists auditor_read on audit.security_events;
create policy auditor_read on audit.security_events for select to auditor using (true);

drop policy if exists service_append on audit.security_events;
create policy service_append on audit.security_events for insert to service_role with check (true);
-- The table's CHECK constraint calls audit.details_are_privacy_safe(details) (pure, SECURITY INVOKER):
-- whoever inserts needs EXECUTE on it, or every insert fails with "permission denied for function".
grant execute on function audit.details_are_privacy_safe(jsonb) to service_role;

revoke all on audit.share_audit from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select on audit.share_audit to auditor;
drop policy if exists auditor_read on audit.share_audit;
create policy auditor_read on audit.share_audit for select to auditor using (true);

revoke all on audit.erasure_log from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select on audit.erasure_log to auditor;
drop policy if exists auditor_read on audit.erasure_log;
create policy auditor_read on audit.erasure_log for select to auditor using (true);

-- audit.hash_salts: no policy for any role but the owner, so no privilege either (see the header).
revoke all on audit.hash_salts from public, anon, authenticated, service_role, auditor, analytics_reader;

-- audit.verify_chain is SECURITY INVOKER: with the read policies above it works for the auditor.
-- Single-object exceptions to the access model (which grants no function in audit to anyone): the
-- verifier and the two pure functions it hashes entries with. No SECURITY DEFINER writer is granted.
grant execute on function audit.verify_chain(text) to auditor;
grant execute on function audit.entry_payload(audit.log) to auditor;
grant execute on function audit.entry_hash(bytea, audit.log) to auditor;

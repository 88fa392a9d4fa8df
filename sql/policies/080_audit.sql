-- policies/080_audit.sql
-- What: row-level security for the audit evidence (schema audit), next to the owner's
-- read/append/purge policies of the migrations.
--   auditor       reads every evidence table: the change log and its archive (and each of their
--                 partitions), the chain heads, the PHI read log, security events, share audit and
--                 erasure receipts; and may run audit.verify_chain(). NOT audit.hash_salts: with a
--                 salt, the month's IP and device hashes could be reversed by trying candidates.
--   service_role  appends security events the back end detects (its only privilege in audit is INSERT;
--                 timestamps are set by the database, UPDATE/DELETE are refused by triggers anyway).
--   authenticated, anon: nothing (no privilege on schema audit). Request roles write evidence only
--                 through the SECURITY DEFINER writers the access functions call.

drop policy if exists auditor_read on audit.log;
create policy auditor_read on audit.log for select to auditor using (true);
select app.sync_partition_policies('audit.log');

drop policy if exists auditor_read on audit.log_archive;
create policy auditor_read on audit.log_archive for select to auditor using (true);
select app.sync_partition_policies('audit.log_archive');

drop policy if exists auditor_read on audit.chain_heads;
create policy auditor_read on audit.chain_heads for select to auditor using (true);

drop policy if exists auditor_read on audit.phi_access_log;
create policy auditor_read on audit.phi_access_log for select to auditor using (true);

drop policy if exists auditor_read on audit.security_events;
create policy auditor_read on audit.security_events for select to auditor using (true);

drop policy if exists service_append on audit.security_events;
create policy service_append on audit.security_events for insert to service_role with check (true);

drop policy if exists auditor_read on audit.share_audit;
create policy auditor_read on audit.share_audit for select to auditor using (true);

drop policy if exists auditor_read on audit.erasure_log;
create policy auditor_read on audit.erasure_log for select to auditor using (true);

-- audit.verify_chain is SECURITY INVOKER: with the read policies above it works for the auditor.
-- Single-object exceptions to the access model (which grants no function in audit to anyone): the
-- verifier and the two pure functions it hashes entries with. No SECURITY DEFINER writer is granted.
grant execute on function audit.verify_chain(text) to auditor;
grant execute on function audit.entry_payload(audit.log) to auditor;
grant execute on function audit.entry_hash(bytea, audit.log) to auditor;

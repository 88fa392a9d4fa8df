-- 20261122031_audit_log_archive.sql
-- What: audit.log_archive, where audit.log partitions past the audit retention period go when
-- retention DETACHES them from the live log (app.detach_expired_partitions, sql/functions/100).
--   * Same columns and constraints as audit.log, range-partitioned on occurred_at: a detached month
--     is re-attached here unchanged (rows, hashes, indexes), renamed log_archive_pYYYY_MM.
--   * Nothing is ever deleted from it row by row: it is append-only evidence like audit.log (same
--     statement guard), read-only even for the owner (no insert policy), and a partition leaves it
--     only through audit.release_archived_partition(), which requires the export receipt (S3 URI of
--     the copy in the object-locked audit-export bucket and its row count) and records the release
--     in audit.security_events. See docs/README-performance.md (retention and archive).
-- Why a partitioned parent and not loose tables: every table in schema audit must have forced RLS
-- and only repository-declared policies (migrator checks); partitions inherit the policy names
-- their partition root declares here, so archived months stay covered without per-month SQL.

create table audit.log_archive (
  like audit.log including defaults including constraints including storage,
  constraint log_archive_pkey primary key (id, occurred_at)
) partition by range (occurred_at);

comment on table audit.log_archive is
  'Monthly audit.log partitions past the audit retention period, detached from the live log and kept unchanged until exported to the audit-export bucket (audit.release_archived_partition). Read-only evidence; holds field names and pseudonymous ids, never field values.';
comment on column audit.log_archive.changed_fields is 'Names of the columns the statement changed. Never values.';
comment on column audit.log_archive.client_ip_hash is 'audit.privacy_hash() of the end-user IP; the raw IP is never stored.';

alter table audit.log_archive enable row level security, force row level security;
create policy baseline_deny_all on audit.log_archive as permissive for all to public using (false) with check (false);
create policy owner_read on audit.log_archive for select to phi_owner using (true);

create trigger refuse_mutation before update or delete or truncate on audit.log_archive
  for each statement execute function audit.refuse_mutation();

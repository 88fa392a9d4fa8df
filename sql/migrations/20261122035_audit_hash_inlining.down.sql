-- 20261122035_audit_hash_inlining.down.sql: reverses 20261122035_audit_hash_inlining.sql (local/dev only):
-- the definitions of 20261122002 (IMMUTABLE, search_path pinned, not inlinable). Same results.

create or replace function audit.entry_payload(p_entry audit.log)
returns jsonb
language sql
immutable
set search_path = ''
as $fn$
  select jsonb_build_object(
    'chain',   p_entry.chain_id,
    'seq',     p_entry.chain_seq,
    'at',      extract(epoch from p_entry.occurred_at),
    'op',      p_entry.operation,
    'schema',  p_entry.table_schema::text,
    'table',   p_entry.table_name::text,
    'row',     p_entry.row_id,
    'org',     p_entry.organization_id,
    'fields',  to_jsonb(p_entry.changed_fields),
    'actor',   p_entry.actor_id,
    'role',    p_entry.actor_role,
    'db_user', p_entry.db_user::text,
    'ip',      encode(p_entry.client_ip_hash, 'hex'),
    'session', p_entry.session_id,
    'txid',    p_entry.transaction_id::text,
    'id',      p_entry.id)
$fn$;

comment on function audit.entry_payload(audit.log) is 'Canonical JSON of an audit entry (everything but the hashes), independent of TimeZone/DateStyle.';

create or replace function audit.entry_hash(p_prev_hash bytea, p_entry audit.log)
returns bytea
language sql
immutable
set search_path = ''
as $fn$
  select sha256(p_prev_hash || convert_to(audit.entry_payload(p_entry)::text, 'UTF8'))
$fn$;

comment on function audit.entry_hash(bytea, audit.log) is 'Chain hash of an entry: sha256(previous hash || canonical entry).';

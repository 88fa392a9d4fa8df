-- 20261122035_audit_hash_inlining.sql
-- What: the audit chain's canonical form and hash (audit.entry_payload, audit.entry_hash, from
-- 20261122002) become functions PostgreSQL can INLINE. Same expressions, same results: every existing
-- row_hash still verifies (audit.verify_chain).
-- Why (measured by bench/perf.js, see docs/README-performance.md): an audited single-row insert spent
-- ~230 µs of its ~1.5 ms in audit.entry_hash. A SQL function with a SET clause (here
-- `set search_path = ''`) is never inlined; called from the PL/pgSQL trigger it runs through the SQL
-- function executor, which parses and plans its body again in every transaction. Without the SET
-- clause, and marked STABLE (jsonb_build_object and to_jsonb are STABLE; an IMMUTABLE function whose
-- body is not immutable is not inlined either), the planner folds both bodies into the trigger's
-- cached expression once per session.
-- Safety without a pinned search_path: every function and operator in the bodies is schema-qualified
-- (pg_catalog.…, OPERATOR(pg_catalog.||)), so no search_path can change what they compute. The
-- functions are SECURITY INVOKER; their callers (audit.log_change, a SECURITY DEFINER trigger, and
-- audit.verify_chain) pin search_path themselves. Existing grants (e.g. EXECUTE for the auditor) are
-- kept by CREATE OR REPLACE.

create or replace function audit.entry_payload(p_entry audit.log)
returns jsonb
language sql
stable
as $fn$
  -- Every value is rendered independently of session settings: the timestamp as epoch seconds
  -- (numeric, microsecond-exact), the rest as text/uuid/arrays; jsonb's text form is canonical.
  select pg_catalog.jsonb_build_object(
    'chain',   p_entry.chain_id,
    'seq',     p_entry.chain_seq,
    'at',      pg_catalog.extract('epoch', p_entry.occurred_at),
    'op',      p_entry.operation,
    'schema',  p_entry.table_schema::pg_catalog.text,
    'table',   p_entry.table_name::pg_catalog.text,
    'row',     p_entry.row_id,
    'org',     p_entry.organization_id,
    'fields',  pg_catalog.to_jsonb(p_entry.changed_fields),
    'actor',   p_entry.actor_id,
    'role',    p_entry.actor_role,
    'db_user', p_entry.db_user::pg_catalog.text,
    'ip',      pg_catalog.encode(p_entry.client_ip_hash, 'hex'),
    'session', p_entry.session_id,
    'txid',    p_entry.transaction_id::pg_catalog.text,
    'id',      p_entry.id)
$fn$;

comment on function audit.entry_payload(audit.log) is
  'Canonical JSON of an audit entry (everything but the hashes), independent of TimeZone/DateStyle. Inlinable (no SET clause; everything schema-qualified).';

create or replace function audit.entry_hash(p_prev_hash bytea, p_entry audit.log)
returns bytea
language sql
stable
as $fn$
  select pg_catalog.sha256(p_prev_hash operator(pg_catalog.||)
                           pg_catalog.convert_to(audit.entry_payload(p_entry)::pg_catalog.text, 'UTF8'))
$fn$;

comment on function audit.entry_hash(bytea, audit.log) is
  'Chain hash of an entry: sha256(previous hash || canonical entry). Inlinable (no SET clause; everything schema-qualified).';

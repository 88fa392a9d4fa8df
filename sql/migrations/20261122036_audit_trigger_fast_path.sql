-- 20261122036_audit_trigger_fast_path.sql
-- What: fewer statements per audited row, same audit entries (same chain, same hashes, same fields).
--   * audit.log_change(): (1) the root table's name is looked up in the catalog only for partitions
--     (a plain table is its own root: TG_TABLE_SCHEMA / TG_TABLE_NAME); (2) the chain head is advanced
--     with one UPDATE ... RETURNING, and created (INSERT ... ON CONFLICT DO NOTHING, then the same
--     UPDATE) only the first time a chain is written, instead of an INSERT ... ON CONFLICT on every row.
--     Concurrency is unchanged: the UPDATE takes the head's row lock until commit, so writers of one
--     chain serialise exactly as before (two first writers of a new chain: the second INSERT waits for
--     the first and does nothing, then its UPDATE reads the committed head).
--   * auth.try_uuid(), auth.uid(), auth.role(), auth.org_id(), auth.session_id(): the same bodies
--     without a SET clause and with every name schema-qualified, so the planner inlines them (into
--     the trigger, the RLS helpers and policies) instead of running the SQL function executor, which
--     re-plans a SQL function body in every transaction. They are SECURITY INVOKER and read only the
--     request settings; auth.jwt() and auth.client_ip() stay PL/pgSQL (they catch malformed input).
--   * actor_role in audit.log and audit.phi_access_log is the database role the request ran as
--     (SET ROLE by the API, else the login), no longer the JWT's `role` claim: claims are untrusted
--     input, and an `authenticated` session claiming `service_role` must not be recorded as one.
-- Why (bench/perf.js, README "Performance"): with 20261122035, an audited single-row insert
-- still spent ~60 µs in auth.uid(), ~20 µs in try_uuid, ~45 µs in the head INSERT ... ON CONFLICT and
-- ~20 µs in the catalog lookup, out of ~940 µs.

create or replace function auth.try_uuid(p_value text)
returns uuid
language sql
immutable
as $fn$
  select case
           when p_value operator(pg_catalog.~*) '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
           then p_value::pg_catalog.uuid
         end
$fn$;

comment on function auth.try_uuid(text) is
  'The text as a uuid, or NULL when it is not a canonical uuid (claims are untrusted input: no cast errors). Inlinable.';

create or replace function auth.uid()
returns uuid
language sql
stable
as $fn$
  select auth.try_uuid(coalesce(
           nullif(auth.jwt() operator(pg_catalog.->>) 'sub', ''),
           nullif(pg_catalog.current_setting('request.jwt.claim.sub', true), '')  -- PostgREST < 9
         ))
$fn$;

comment on function auth.uid() is
  'Subject (user id) of the current request: claims.sub as uuid, NULL when unset or not a uuid. Replaces the seeds'' Supabase auth.uid(), which does not exist on RDS. Inlinable.';

create or replace function auth.role()
returns text
language sql
stable
as $fn$
  select coalesce(
           nullif(auth.jwt() operator(pg_catalog.->>) 'role', ''),
           nullif(pg_catalog.current_setting('request.jwt.claim.role', true), '')
         )
$fn$;

comment on function auth.role() is 'Role claim of the current request (anon, authenticated, service_role), NULL when unset. Inlinable.';

create or replace function auth.org_id()
returns uuid
language sql
stable
as $fn$
  select auth.try_uuid(coalesce(
           nullif(auth.jwt() operator(pg_catalog.->>) 'org_id', ''),
           nullif((auth.jwt() operator(pg_catalog.->) 'app_metadata') operator(pg_catalog.->>) 'org_id', '')
         ))
$fn$;

comment on function auth.org_id() is
  'Organization the current request acts for: claims.org_id (or claims.app_metadata.org_id) as uuid, NULL when unset or invalid. Inlinable.';

create or replace function auth.session_id()
returns text
language sql
stable
as $fn$
  select pg_catalog.left(coalesce(
           nullif(auth.jwt() operator(pg_catalog.->>) 'session_id', ''),
           nullif(pg_catalog.current_setting('request.session_id', true), '')
         ), 200)
$fn$;

comment on function auth.session_id() is 'Session id of the current request (claims.session_id or request.session_id), NULL when unset. Inlinable.';

create or replace function audit.log_change()
returns trigger
language plpgsql
security definer
set search_path = ''
as $fn$
declare
  v_old    jsonb;
  v_new    jsonb;
  v_row    jsonb;
  v_root   oid;
  v_entry  audit.log;
  v_fields text[];
  v_key    uuid;
begin
  if tg_op in ('UPDATE', 'DELETE') then
    v_old := to_jsonb(old);
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    v_new := to_jsonb(new);
  end if;
  v_row := coalesce(v_new, v_old);

  -- Changed fields only: UPDATE compares old and new column by column; INSERT/DELETE list the
  -- columns that hold a value. updated_at is bookkeeping, not a change.
  select coalesce(array_agg(e.key order by e.key), '{}')
    into v_fields
    from jsonb_each(v_row) as e(key, value)
   where e.key <> 'updated_at'
     and case when tg_op = 'UPDATE' then (v_old -> e.key) is distinct from e.value
              else e.value <> 'null'::jsonb end;
  if tg_op = 'UPDATE' and cardinality(v_fields) = 0 then
    return null;  -- a no-op update changes nothing and is not logged
  end if;

  -- Partitions report as their partition root; a plain table is its own root (no catalog lookup).
  v_root := pg_partition_root(tg_relid);
  if v_root is null or v_root = tg_relid then
    v_entry.table_schema := tg_table_schema;
    v_entry.table_name   := tg_table_name;
  else
    select n.nspname, c.relname into v_entry.table_schema, v_entry.table_name
      from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where c.oid = v_root;
  end if;

  v_entry.id              := gen_random_uuid();
  v_entry.operation       := tg_op;
  v_entry.row_id          := v_row ->> 'id';
  v_entry.organization_id := auth.try_uuid(v_row ->> 'organization_id');
  v_entry.changed_fields  := v_fields;
  v_entry.actor_id        := auth.uid();
  v_entry.actor_role      := coalesce(nullif(current_setting('role'), 'none'), session_user);  -- the database role, not a claim
  v_entry.db_user         := session_user;
  v_entry.client_ip_hash  := audit.privacy_hash(host(auth.client_ip()));
  v_entry.session_id      := auth.session_id();
  v_entry.transaction_id  := pg_current_xact_id();
  -- Which chain: an explicit rule 'org:<column>' / 'user:<column>' given as trigger argument (for
  -- tables whose own id is the tenant or the user, e.g. organizations, profiles), else the row's
  -- organization_id, else its user_id, else the instance chain.
  if tg_nargs > 0 then
    v_key := auth.try_uuid(v_row ->> split_part(tg_argv[0], ':', 2));
    v_entry.chain_id := case when v_key is null then 'instance' else split_part(tg_argv[0], ':', 1) || ':' || v_key::text end;
    if split_part(tg_argv[0], ':', 1) = 'org' then
      v_entry.organization_id := coalesce(v_entry.organization_id, v_key);
    end if;
  else
    v_entry.chain_id := case
                          when v_entry.organization_id is not null then 'org:' || v_entry.organization_id::text
                          when auth.try_uuid(v_row ->> 'user_id') is not null then 'user:' || (v_row ->> 'user_id')
                          else 'instance'
                        end;
  end if;

  -- Advance the chain head. The row lock taken here is held until commit, so the next writer of
  -- this chain reads our hash (READ COMMITTED re-reads the newest head; REPEATABLE READ gets a
  -- serialization failure and retries). The head row is created the first time a chain is written.
  update audit.chain_heads h
     set last_seq = h.last_seq + 1
   where h.chain_id = v_entry.chain_id
  returning h.last_seq, h.last_hash into v_entry.chain_seq, v_entry.prev_hash;
  if not found then
    insert into audit.chain_heads (chain_id) values (v_entry.chain_id) on conflict (chain_id) do nothing;
    update audit.chain_heads h
       set last_seq = h.last_seq + 1
     where h.chain_id = v_entry.chain_id
    returning h.last_seq, h.last_hash into v_entry.chain_seq, v_entry.prev_hash;
  end if;

  v_entry.occurred_at := clock_timestamp();
  v_entry.created_at  := v_entry.occurred_at;
  v_entry.row_hash    := audit.entry_hash(v_entry.prev_hash, v_entry);

  update audit.chain_heads h set last_hash = v_entry.row_hash where h.chain_id = v_entry.chain_id;
  insert into audit.log select v_entry.*;
  return null;
end
$fn$;

comment on function audit.log_change() is
  'Generic AFTER INSERT/UPDATE/DELETE row trigger for PHI tables: appends a hash-chained audit.log entry with the changed field names, actor, role, IP and session. Optional argument ''org:<column>'' or ''user:<column>'' names the chain.';

create or replace function audit.record_phi_access(
  p_organization_id uuid,
  p_patient_id      uuid,
  p_table           regclass,
  p_fields          text[],
  p_purpose         text)
returns uuid
language plpgsql
security definer
set search_path = ''
as $fn$
declare
  v_id     uuid;
  v_schema name;
  v_table  name;
begin
  select n.nspname, c.relname into v_schema, v_table
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   where c.oid = p_table;
  insert into audit.phi_access_log (actor_id, actor_role, organization_id, patient_id, table_schema, table_name,
                                    fields, purpose, client_ip_hash, session_id)
  values (auth.uid(), coalesce(nullif(current_setting('role'), 'none'), session_user), p_organization_id, p_patient_id,
          v_schema, v_table, p_fields, p_purpose, audit.privacy_hash(host(auth.client_ip())), auth.session_id())
  returning id into v_id;
  return v_id;
end
$fn$;

comment on function audit.record_phi_access(uuid, uuid, regclass, text[], text) is
  'Appends a PHI read-log entry (actor from the claims, the database role the request ran as, session and hashed IP).';

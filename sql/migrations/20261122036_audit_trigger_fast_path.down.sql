-- 20261122036_audit_trigger_fast_path.down.sql: reverses 20261122036_audit_trigger_fast_path.sql (local/dev only):
-- the definitions of 20261122001 (claim helpers, search_path pinned), 20261122002 (audit.log_change)
-- and 20261122003 (audit.record_phi_access).

create or replace function auth.try_uuid(p_value text)
returns uuid
language sql
immutable
set search_path = ''
as $fn$
  select case
           when p_value ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then p_value::uuid
         end
$fn$;

comment on function auth.try_uuid(text) is
  'The text as a uuid, or NULL when it is not a canonical uuid (claims are untrusted input: no cast errors).';

create or replace function auth.uid()
returns uuid
language sql
stable
set search_path = ''
as $fn$
  select auth.try_uuid(coalesce(
           nullif(auth.jwt() ->> 'sub', ''),
           nullif(current_setting('request.jwt.claim.sub', true), '')  -- PostgREST < 9
         ))
$fn$;

comment on function auth.uid() is
  'Subject (user id) of the current request: claims.sub as uuid, NULL when unset or not a uuid. Replaces the seeds'' Supabase auth.uid(), which does not exist on RDS.';

create or replace function auth.role()
returns text
language sql
stable
set search_path = ''
as $fn$
  select coalesce(
           nullif(auth.jwt() ->> 'role', ''),
           nullif(current_setting('request.jwt.claim.role', true), '')
         )
$fn$;

comment on function auth.role() is 'Role claim of the current request (anon, authenticated, service_role), NULL when unset.';

create or replace function auth.org_id()
returns uuid
language sql
stable
set search_path = ''
as $fn$
  select auth.try_uuid(coalesce(
           nullif(auth.jwt() ->> 'org_id', ''),
           nullif(auth.jwt() -> 'app_metadata' ->> 'org_id', '')
         ))
$fn$;

comment on function auth.org_id() is
  'Organization the current request acts for: claims.org_id (or claims.app_metadata.org_id) as uuid, NULL when unset or invalid.';

create or replace function auth.session_id()
returns text
language sql
stable
set search_path = ''
as $fn$
  select left(coalesce(
           nullif(auth.jwt() ->> 'session_id', ''),
           nullif(current_setting('request.session_id', true), '')
         ), 200)
$fn$;

comment on function auth.session_id() is 'Session id of the current request (claims.session_id or request.session_id), NULL when unset.';

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

  -- Partitions report as their partition root.
  v_root := coalesce(pg_partition_root(tg_relid)::oid, tg_relid);
  select n.nspname, c.relname into v_entry.table_schema, v_entry.table_name
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   where c.oid = v_root;

  v_entry.id              := gen_random_uuid();
  v_entry.operation       := tg_op;
  v_entry.row_id          := v_row ->> 'id';
  v_entry.organization_id := auth.try_uuid(v_row ->> 'organization_id');
  v_entry.changed_fields  := v_fields;
  v_entry.actor_id        := auth.uid();
  v_entry.actor_role      := coalesce(auth.role(), current_setting('role'));
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
  -- serialization failure and retries).
  insert into audit.chain_heads (chain_id) values (v_entry.chain_id) on conflict (chain_id) do nothing;
  update audit.chain_heads h
     set last_seq = h.last_seq + 1
   where h.chain_id = v_entry.chain_id
  returning h.last_seq, h.last_hash into v_entry.chain_seq, v_entry.prev_hash;

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
  values (auth.uid(), coalesce(auth.role(), current_setting('role')), p_organization_id, p_patient_id, v_schema, v_table,
          p_fields, p_purpose, audit.privacy_hash(host(auth.client_ip())), auth.session_id())
  returning id into v_id;
  return v_id;
end
$fn$;

comment on function audit.record_phi_access(uuid, uuid, regclass, text[], text) is
  'Appends a PHI read-log entry (actor, role, session and hashed IP from the request).';

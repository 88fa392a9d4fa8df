-- 20261122042_audit_statement_fast_path.down.sql: reverses 20261122042 (local/dev only): the
-- 20261122040 body of audit.log_statement() (one jsonb pairs document, one query for every statement),
-- and the two helper functions go.

create or replace function audit.log_statement()
returns trigger
language plpgsql
security definer
set search_path = ''
-- Generic plans for this function's queries: with the trigger's values (tg_op, the rule, the rows)
-- as parameters, the plan cache otherwise kept choosing custom plans, i.e. planned every query on
-- every call (~200 us per audited statement, measured).
set plan_cache_mode = force_generic_plan
as $fn$
declare
  v_rule    text := case when tg_nargs > 0 then tg_argv[0] end;
  v_pairs   jsonb;
  v_rec     record;
  v_entry   audit.log;
  v_root    oid;
  v_schema  name;
  v_table   name;
  v_chain   text;
  v_seq     bigint;
  v_prev    bytea;
  v_actor   uuid;
  v_role    text;
  v_ip      bytea;
  v_session text;
  v_xid     xid8;
begin
  -- The statement's rows as (old, new) pairs. An UPDATE pairs its old and new rows by id.
  if tg_op = 'INSERT' then
    select jsonb_agg(jsonb_build_array(null, to_jsonb(n))) into v_pairs from new_rows n;
  elsif tg_op = 'DELETE' then
    select jsonb_agg(jsonb_build_array(to_jsonb(o), null)) into v_pairs from old_rows o;
  else
    select jsonb_agg(jsonb_build_array(to_jsonb(o), to_jsonb(n))) into v_pairs
      from old_rows o full join new_rows n on n.id = o.id;
  end if;
  if v_pairs is null then
    return null;  -- the statement touched no row
  end if;

  -- Partitions report as their partition root; a plain table is its own root.
  v_root := pg_partition_root(tg_relid);
  if v_root is null or v_root = tg_relid then
    v_schema := tg_table_schema;
    v_table  := tg_table_name;
  else
    select n.nspname, c.relname into v_schema, v_table
      from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where c.oid = v_root;
  end if;

  -- The request, once per statement.
  v_actor   := auth.uid();
  v_role    := coalesce(nullif(current_setting('role'), 'none'), session_user);  -- the database role, not a claim
  v_ip      := audit.privacy_hash(host(auth.client_ip()));
  v_session := auth.session_id();
  v_xid     := pg_current_xact_id();

  for v_rec in
    with pairs as (
      select x.ord, x.o, x.n, coalesce(x.n, x.o) as r
        from jsonb_array_elements(v_pairs) with ordinality as p(value, ord),
             lateral (select p.ord, nullif(p.value -> 0, 'null'::jsonb) as o, nullif(p.value -> 1, 'null'::jsonb) as n) as x
    ), entries as (
      select pairs.ord, pairs.r,
             -- Changed fields only: an UPDATE compares old and new column by column; an INSERT or
             -- DELETE lists the columns that hold a value. updated_at is bookkeeping, not a change.
             (select coalesce(array_agg(e.key order by e.key), '{}')
                from jsonb_each(pairs.r) as e(key, value)
               where e.key <> 'updated_at'
                 and case when pairs.o is not null and pairs.n is not null
                          then (pairs.o -> e.key) is distinct from e.value
                          else e.value <> 'null'::jsonb end) as fields,
             -- Which chain: the trigger's rule 'org:<column>' / 'user:<column>' (tables whose own id is
             -- the tenant or the user), else the row's organization_id, else its user_id, else 'instance'.
             case
               when v_rule is not null then
                 case when auth.try_uuid(pairs.r ->> split_part(v_rule, ':', 2)) is null then 'instance'
                      else split_part(v_rule, ':', 1) || ':' || auth.try_uuid(pairs.r ->> split_part(v_rule, ':', 2))::text end
               when auth.try_uuid(pairs.r ->> 'organization_id') is not null then 'org:' || auth.try_uuid(pairs.r ->> 'organization_id')::text
               when auth.try_uuid(pairs.r ->> 'user_id') is not null then 'user:' || (pairs.r ->> 'user_id')
               else 'instance'
             end as chain_id
        from pairs
    )
    select e.ord, e.r, e.fields, e.chain_id
      from entries e
     where not (tg_op = 'UPDATE' and cardinality(e.fields) = 0)  -- a no-op update changes nothing
     order by e.chain_id, e.ord
  loop
    if v_rec.chain_id is distinct from v_chain then
      if v_chain is not null then
        update audit.chain_heads h set last_seq = v_seq, last_hash = v_prev where h.chain_id = v_chain;
      end if;
      -- Lock the chain's head until commit: writers of one chain serialise here, which is what makes
      -- the chain verifiable. A chain's head row is created the first time the chain is written.
      select h.last_seq, h.last_hash into v_seq, v_prev from audit.chain_heads h where h.chain_id = v_rec.chain_id for update;
      if not found then
        insert into audit.chain_heads (chain_id) values (v_rec.chain_id) on conflict (chain_id) do nothing;
        select h.last_seq, h.last_hash into v_seq, v_prev from audit.chain_heads h where h.chain_id = v_rec.chain_id for update;
      end if;
      v_chain := v_rec.chain_id;
    end if;

    v_entry.id              := gen_random_uuid();
    v_entry.table_schema    := v_schema;
    v_entry.table_name      := v_table;
    v_entry.operation       := tg_op;
    v_entry.row_id          := v_rec.r ->> 'id';
    v_entry.organization_id := auth.try_uuid(v_rec.r ->> 'organization_id');
    if v_rule is not null and split_part(v_rule, ':', 1) = 'org' then
      v_entry.organization_id := coalesce(v_entry.organization_id, auth.try_uuid(v_rec.r ->> split_part(v_rule, ':', 2)));
    end if;
    v_entry.changed_fields  := v_rec.fields;
    v_entry.actor_id        := v_actor;
    v_entry.actor_role      := v_role;
    v_entry.db_user         := session_user;
    v_entry.client_ip_hash  := v_ip;
    v_entry.session_id      := v_session;
    v_entry.transaction_id  := v_xid;
    v_entry.chain_id        := v_chain;
    v_seq                   := v_seq + 1;
    v_entry.chain_seq       := v_seq;
    v_entry.prev_hash       := v_prev;
    v_entry.occurred_at     := clock_timestamp();
    v_entry.created_at      := v_entry.occurred_at;
    v_entry.row_hash        := audit.entry_hash(v_prev, v_entry);
    insert into audit.log select v_entry.*;
    v_prev := v_entry.row_hash;
  end loop;

  if v_chain is not null then
    update audit.chain_heads h set last_seq = v_seq, last_hash = v_prev where h.chain_id = v_chain;
  end if;
  return null;
end
$fn$;

comment on function audit.log_statement() is
  'Generic AFTER INSERT/UPDATE/DELETE statement trigger for PHI tables (transition tables old_rows/new_rows): appends one hash-chained audit.log entry per changed row with the changed field names, actor, role, IP and session; each chain head is locked and advanced once per statement. Optional argument ''org:<column>'' or ''user:<column>'' names the chain.';

drop function if exists audit.entry_fields(jsonb, jsonb);
drop function if exists audit.entry_chain(jsonb, text);

-- functions/120_performance_helpers.sql
-- What: small helpers of the performance layer.
--   app.search_patients(query, limit)   patient search by name / e-mail prefix through the full-text
--       index patients_search_idx (20261122007): the tsvector expression below is exactly the index
--       expression, so the planner can use it. SECURITY INVOKER and a plain SQL function: row-level
--       security on app.patients decides which patients the caller finds. What is searchable: first
--       name, last name and e-mail, which are stored as plaintext columns (PHI protected by RLS, storage
--       encryption and the audit trail); the field-encrypted columns (SSN, medical history, insurance)
--       are never searchable. Should names become field-encrypted one day, this would switch to a blind
--       index (HMAC of normalised name tokens under a key the database does not hold).
--       'simple' configuration: names must not be stemmed or dropped as stop words. An e-mail address is
--       one token: it is found whole or by the beginning of its local part ('jane.d'), not by its domain.
--       No `set search_path` on purpose: a function with a SET clause is never inlined, and inlining
--       is what lets the planner see the index condition and the caller's LIMIT. It is SECURITY
--       INVOKER (no privilege to borrow) and every name in it is schema-qualified (pg_catalog is
--       always searched first for the built-in operators and functions).
--   app.partitioned_index_statements(parent, index, definition)  the statements that build an index on
--       a POPULATED partitioned table without blocking writes: CREATE INDEX ... ON ONLY the parent
--       (invalid until every partition has its index), then per partition CREATE INDEX CONCURRENTLY and
--       ALTER INDEX ... ATTACH PARTITION. PostgreSQL cannot run CONCURRENTLY inside a function or a
--       transaction, so this only prints them: put them in a `-- phi-db:no-transaction` migration (or
--       run them with psql) in that order.

create or replace function app.search_patients(p_query text, p_limit integer default 20)
returns table (id uuid, organization_id uuid, first_name text, last_name text, email text, rank real)
language sql
stable
as $fn$
  with q as (
    -- Every word of the query as a prefix ('smi' finds Smith); characters outside letters, digits and
    -- @ . _ - are dropped, so the text can never inject tsquery syntax.
    select pg_catalog.to_tsquery('simple'::regconfig, pg_catalog.string_agg(pg_catalog.quote_literal(c.w) || ':*', ' & ')) as tsq
      from pg_catalog.regexp_split_to_table(pg_catalog.lower(coalesce(p_query, '')), '\s+') as t(raw)
      cross join lateral (select pg_catalog.regexp_replace(t.raw, '[^[:alnum:]@._-]', '', 'g') as w) as c
     where c.w <> ''
  )
  select p.id, p.organization_id, p.first_name, p.last_name, p.email,
         pg_catalog.ts_rank(pg_catalog.to_tsvector('simple'::regconfig, coalesce(p.first_name, '') || ' ' || coalesce(p.last_name, '') || ' ' || coalesce(p.email, '')), q.tsq) as rank
    from q
    join app.patients p
      on pg_catalog.to_tsvector('simple'::regconfig, coalesce(p.first_name, '') || ' ' || coalesce(p.last_name, '') || ' ' || coalesce(p.email, '')) @@ q.tsq
   where q.tsq is not null
   order by rank desc, p.last_name, p.first_name, p.id
   limit least(greatest(coalesce(p_limit, 20), 1), 200)
$fn$;

comment on function app.search_patients(text, integer) is
  'Patients whose first name, last name or e-mail has a word starting with each word of the query (full-text index patients_search_idx), best match first, at most 200. Row-level security decides which patients the caller can find.';

create or replace function app.partitioned_index_statements(p_parent regclass, p_index_name text, p_definition text)
returns table (step integer, statement text)
language plpgsql
stable
set search_path = ''
as $fn$
#variable_conflict use_column
declare
  v_schema name;
  v_part   record;
  v_name   text;
  v_step   integer := 1;
begin
  select n.nspname into v_schema
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   where c.oid = p_parent and c.relkind = 'p';
  if v_schema is null then
    raise exception '% is not a partitioned table', p_parent using errcode = 'wrong_object_type';
  end if;
  if p_index_name !~ '^[a-z_][a-z0-9_]{0,62}$' then
    raise exception 'index name must be a lower-case identifier of at most 63 characters, got %', p_index_name
      using errcode = 'invalid_parameter_value';
  end if;
  step := v_step;
  statement := format('create index if not exists %I on only %s %s;', p_index_name, p_parent, p_definition);
  return next;
  for v_part in
    select c.oid::regclass as part, c.relname, n.nspname
      from pg_catalog.pg_inherits i
      join pg_catalog.pg_class c on c.oid = i.inhrelid
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where i.inhparent = p_parent
     order by c.relname
  loop
    -- <partition>_<8 hex of the index name>_idx: unique per index and partition, within 63 characters.
    v_name := left(v_part.relname, 50) || '_' || left(md5(p_index_name), 8) || '_idx';
    v_step := v_step + 1;
    step := v_step;
    statement := format('create index concurrently if not exists %I on %s %s;', v_name, v_part.part, p_definition);
    return next;
    v_step := v_step + 1;
    step := v_step;
    statement := format('alter index %I.%I attach partition %I.%I;', v_schema, p_index_name, v_part.nspname, v_name);
    return next;
  end loop;
end
$fn$;

comment on function app.partitioned_index_statements(regclass, text, text) is
  'The statements (in order) that build an index on a populated partitioned table without blocking writes: CREATE INDEX ON ONLY the parent, then per partition CREATE INDEX CONCURRENTLY and ALTER INDEX ... ATTACH PARTITION. Run them outside a transaction (a no-transaction migration).';

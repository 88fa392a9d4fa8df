-- 20261122041_claims_without_subtransactions.sql
-- What: the request helpers that every policy, RLS helper and audit entry calls stop paying for a
-- subtransaction and for the SQL-function executor:
--   * auth.jwt() (PostgreSQL 16 and later): a SQL function that validates the claims with
--     pg_input_is_valid(text, 'jsonb') instead of catching the cast error in a PL/pgSQL exception block.
--     An exception block starts a subtransaction on every call, even when nothing fails; as a SQL
--     function without SET clauses it is also inlined into its callers. Same results: NULL when the
--     setting is unset, empty, malformed or not a JSON object; it never raises.
--   * auth.client_ip() (PostgreSQL 16 and later): the same PL/pgSQL function, with pg_input_is_valid
--     checks instead of its two exception blocks, and without its SET search_path clause (a GUC change
--     on every call; every name is qualified instead).
--   * auth.try_uuid(): the same result, with its argument referenced once. The planner inlines a SQL
--     function only if an argument used twice is cheap; auth.uid() passes it the claims lookup, so
--     try_uuid ran through the SQL-function executor (parsed and planned in every transaction) in
--     every policy and in the audit trigger.
-- On PostgreSQL 15 (no pg_input_is_valid) auth.jwt() and auth.client_ip() keep their PL/pgSQL bodies
-- from 20261122001; try_uuid changes on every version.
-- Why (bench/perf.js and bench/rls.js profiles): the claims lookup was the largest single cost of the
-- request context in the audit trigger and of each `(select auth.uid())` InitPlan in the policies.

create or replace function auth.try_uuid(p_value text)
returns uuid
language sql
immutable
as $fn$
  select (pg_catalog.regexp_match(p_value, '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$', 'i'))[1]::pg_catalog.uuid
$fn$;

comment on function auth.try_uuid(text) is
  'The text as a uuid, or NULL when it is not a canonical uuid (claims are untrusted input: no cast errors). Inlinable whatever its argument.';

do $do$
begin
  if pg_catalog.current_setting('server_version_num')::int < 160000 then
    raise notice 'PostgreSQL %: auth.jwt() and auth.client_ip() keep their exception-block bodies (pg_input_is_valid needs 16)',
      pg_catalog.current_setting('server_version');
    return;
  end if;

  create or replace function auth.jwt()
  returns jsonb
  language sql
  stable
  as $fn$
    select case
             when pg_catalog.pg_input_is_valid(pg_catalog.current_setting('request.jwt.claims', true), 'jsonb')
              and pg_catalog.jsonb_typeof(pg_catalog.current_setting('request.jwt.claims', true)::pg_catalog.jsonb) operator(pg_catalog.=) 'object'
             then pg_catalog.current_setting('request.jwt.claims', true)::pg_catalog.jsonb
           end
  $fn$;

  create or replace function auth.client_ip()
  returns inet
  language plpgsql
  stable
  -- No SET clause (it costs a GUC change on every call): every name is qualified.
  as $fn$
  declare
    v_raw     text;
    v_headers text;
  begin
    -- Our API sets request.client_ip; PostgREST exposes headers as request.headers (JSON).
    v_raw := nullif(pg_catalog.current_setting('request.client_ip', true), '');
    if v_raw is null then
      v_headers := pg_catalog.current_setting('request.headers', true);
      if pg_catalog.pg_input_is_valid(v_headers, 'jsonb') then
        v_raw := pg_catalog.split_part(v_headers::pg_catalog.jsonb operator(pg_catalog.->>) 'x-forwarded-for', ',', 1);
      end if;
    end if;
    v_raw := pg_catalog.btrim(v_raw);
    if v_raw is null or v_raw operator(pg_catalog.=) '' or not pg_catalog.pg_input_is_valid(v_raw, 'inet') then
      return null;
    end if;
    return v_raw::pg_catalog.inet;
  end
  $fn$;
end
$do$;

comment on function auth.jwt() is
  'Claims of the current request (request.jwt.claims, set per transaction by the API). NULL when unset, empty, malformed or not a JSON object; never raises.';
comment on function auth.client_ip() is
  'End-user IP of the current request (request.client_ip, else the first X-Forwarded-For hop), NULL when unset or invalid; never raises.';

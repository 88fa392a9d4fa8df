-- 20261122041_claims_without_subtransactions.down.sql: reverses 20261122041 (local/dev only): the
-- exception-block bodies of auth.jwt() and auth.client_ip() (20261122001) and the two-reference
-- auth.try_uuid() (20261122036).

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

create or replace function auth.jwt()
returns jsonb
language plpgsql
stable
set search_path = ''
as $fn$
declare
  v_raw    text := current_setting('request.jwt.claims', true);
  v_claims jsonb;
begin
  if v_raw is null or v_raw = '' then
    return null;
  end if;
  begin
    v_claims := v_raw::jsonb;
  exception when data_exception then
    return null;
  end;
  if jsonb_typeof(v_claims) <> 'object' then
    return null;
  end if;
  return v_claims;
end
$fn$;

create or replace function auth.client_ip()
returns inet
language plpgsql
stable
set search_path = ''
as $fn$
declare
  v_raw text;
begin
  v_raw := nullif(current_setting('request.client_ip', true), '');
  if v_raw is null then
    begin
      v_raw := split_part(
                 (nullif(current_setting('request.headers', true), '')::jsonb) ->> 'x-forwarded-for', ',', 1);
    exception when data_exception then
      v_raw := null;
    end;
  end if;
  if v_raw is null or btrim(v_raw) = '' then
    return null;
  end if;
  begin
    return btrim(v_raw)::inet;
  exception when data_exception then
    return null;
  end;
end
$fn$;

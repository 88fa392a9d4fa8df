-- functions/085_cache.sql
-- What: read-through helpers for cache.analysis_results (production guide: cached analysis results
-- with hit counts and expiry).
--   cache.get_analysis_result(org, key)            the unexpired result, counting the hit; NULL on a miss.
--   cache.put_analysis_result(org, key, type, result, ttl, patient)   insert or replace an entry.
-- SECURITY INVOKER: they act with the caller's rights on schema cache (row-level security decides
-- which organization's entries the caller sees once the RLS issue lands).

create or replace function cache.get_analysis_result(p_organization_id uuid, p_cache_key text)
returns jsonb
language sql
volatile
set search_path = ''
as $fn$
  update cache.analysis_results r
     set hit_count = r.hit_count + 1, last_hit_at = now()
   where r.organization_id = p_organization_id and r.cache_key = p_cache_key and r.expires_at > now()
  returning r.result
$fn$;

comment on function cache.get_analysis_result(uuid, text) is 'Cached result for (organization, key) if not expired, counting the hit; NULL on a miss.';

create or replace function cache.put_analysis_result(
  p_organization_id    uuid,
  p_cache_key          text,
  p_analysis_type      text,
  p_result             jsonb,
  p_ttl                interval default interval '1 hour',
  p_subject_patient_id uuid default null)
returns uuid
language sql
volatile
set search_path = ''
as $fn$
  insert into cache.analysis_results (organization_id, cache_key, analysis_type, subject_patient_id, result, expires_at)
  values (p_organization_id, p_cache_key, p_analysis_type, p_subject_patient_id, p_result, now() + p_ttl)
  on conflict (organization_id, cache_key) do update
     set analysis_type = excluded.analysis_type,
         subject_patient_id = excluded.subject_patient_id,
         result = excluded.result,
         hit_count = 0,
         last_hit_at = null,
         expires_at = excluded.expires_at
  returning id
$fn$;

comment on function cache.put_analysis_result(uuid, text, text, jsonb, interval, uuid) is
  'Stores (or replaces) a cached analysis result for p_ttl (at most 30 days, checked by the table).';

-- 20261122016_operations.sql
-- What: the production guide's operational schemas.
--   * cache.analysis_results  per-tenant cached analysis results with hit counts and expiry; a
--                             result about one patient references that patient and goes with it on
--                             erasure (derived data is still that patient's data).
--   * logs.performance_logs   slow/interesting query executions recorded by the application
--                             (the views logs.slow_queries and logs.table_stats are in sql/views).
--   * analytics.metrics       pre-aggregated, de-identified metrics per organization and period
--                             (materialized views come with the performance issue).
-- Why: the production guide's cache/logs/analytics schemas; the seed's performance_logs with an
-- interval column becomes milliseconds (numeric) so it can be aggregated and indexed simply.

create table cache.analysis_results (
  id                 uuid        not null default gen_random_uuid(),
  organization_id    uuid        not null,
  cache_key          text        not null,
  analysis_type      text        not null,
  subject_patient_id uuid,
  result             jsonb       not null,
  hit_count          bigint      not null default 0,
  last_hit_at        timestamptz,
  expires_at         timestamptz not null,
  created_at         timestamptz not null default now(),
  updated_at         timestamptz not null default now(),
  constraint analysis_results_pkey primary key (id),
  constraint analysis_results_org_key_key unique (organization_id, cache_key),
  constraint analysis_results_organization_fkey foreign key (organization_id)
    references tenant.organizations (id) on delete cascade,
  constraint analysis_results_patient_fkey foreign key (organization_id, subject_patient_id)
    references app.patients (organization_id, id) on delete cascade,
  constraint analysis_results_key_format check (cache_key ~ '^[A-Za-z0-9:._/-]{1,200}$'),
  constraint analysis_results_type_format check (analysis_type ~ '^[a-z][a-z0-9_]{1,63}$'),
  constraint analysis_results_hit_count_nonnegative check (hit_count >= 0),
  constraint analysis_results_expiry_window check (expires_at > updated_at and expires_at <= updated_at + interval '30 days')
);

comment on table cache.analysis_results is
  'Cached analysis results per organization (hit count, expiry at most 30 days after the last write). Rebuildable from app; purged when expired; cascades with the subject patient.';
comment on column cache.analysis_results.result is 'PHI: analysis output (may be derived from a patient''s health data).';
comment on column cache.analysis_results.subject_patient_id is 'The patient the result is about, if any (erasing the patient removes the result).';
comment on column cache.analysis_results.cache_key is 'Lookup key (ids and parameters only, never names or values).';

create index analysis_results_expires_idx on cache.analysis_results (expires_at);
create index analysis_results_patient_idx on cache.analysis_results (subject_patient_id) where subject_patient_id is not null;

alter table cache.analysis_results enable row level security, force row level security;
create policy baseline_deny_all on cache.analysis_results as permissive for all to public using (false) with check (false);
create policy owner_full_access on cache.analysis_results for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on cache.analysis_results
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on cache.analysis_results
  for each row execute function audit.log_change();

-- ---------------------------------------------------------------------------------------------

create table logs.performance_logs (
  id                uuid          not null default gen_random_uuid(),
  logged_at         timestamptz   not null default clock_timestamp(),
  organization_id   uuid,
  source            text          not null default 'app',
  query_id          bigint,
  query_label       text,
  execution_time_ms numeric(12, 3) not null,
  rows_affected     bigint,
  query_plan        jsonb,
  created_at        timestamptz   not null default now(),
  updated_at        timestamptz   not null default now(),
  constraint performance_logs_pkey primary key (id),
  constraint performance_logs_organization_fkey foreign key (organization_id)
    references tenant.organizations (id) on delete set null,
  constraint performance_logs_source_valid check (source in ('app', 'api', 'migrator', 'cron', 'manual')),
  constraint performance_logs_label_format check (query_label is null or query_label ~ '^[A-Za-z0-9:._/ -]{1,200}$'),
  constraint performance_logs_time_nonnegative check (execution_time_ms >= 0),
  constraint performance_logs_rows_nonnegative check (rows_affected is null or rows_affected >= 0)
);

comment on table logs.performance_logs is
  'Query executions worth keeping (duration, rows, plan) recorded by the application; query_id matches pg_stat_statements.queryid. Purged after retention.performance_log_days.';
comment on column logs.performance_logs.query_plan is 'PHI: EXPLAIN output may show literal values from predicates; record generic plans (EXPLAIN (GENERIC_PLAN) on 16+) where possible.';

create index performance_logs_logged_at_idx on logs.performance_logs (logged_at);
create index performance_logs_query_idx on logs.performance_logs (query_id, logged_at desc) where query_id is not null;

alter table logs.performance_logs enable row level security, force row level security;
create policy baseline_deny_all on logs.performance_logs as permissive for all to public using (false) with check (false);
create policy owner_full_access on logs.performance_logs for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on logs.performance_logs
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on logs.performance_logs
  for each row execute function audit.log_change();

-- ---------------------------------------------------------------------------------------------

create table analytics.metrics (
  id                 uuid        not null default gen_random_uuid(),
  organization_id    uuid        not null,
  metric_type        text        not null,
  dimensions         jsonb       not null default '{}',
  period_granularity text        not null,
  period_start       timestamptz not null,
  period_end         timestamptz not null,
  value              numeric     not null,
  sample_size        integer,
  computed_at        timestamptz not null default now(),
  created_at         timestamptz not null default now(),
  updated_at         timestamptz not null default now(),
  constraint metrics_pkey primary key (id),
  constraint metrics_period_key unique (organization_id, metric_type, period_granularity, period_start, dimensions),
  constraint metrics_organization_fkey foreign key (organization_id)
    references tenant.organizations (id) on delete cascade,
  constraint metrics_type_format check (metric_type ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'),
  constraint metrics_dimensions_object check (jsonb_typeof(dimensions) = 'object'),
  constraint metrics_dimensions_deidentified check (
    not (dimensions ?| array['patient_id', 'user_id', 'profile_id', 'email', 'name', 'date_of_birth', 'zip', 'postal_code'])),
  constraint metrics_granularity_valid check (period_granularity in ('hour', 'day', 'week', 'month', 'quarter', 'year')),
  constraint metrics_period_order check (period_end > period_start),
  constraint metrics_sample_size_nonnegative check (sample_size is null or sample_size >= 0)
);

comment on table analytics.metrics is
  'Pre-aggregated, de-identified metrics per organization and period (value, sample size). No person-level dimensions (refused by a CHECK); suppress cells with sample_size < 11 before sharing with research partners.';

create index metrics_lookup_idx on analytics.metrics (organization_id, metric_type, period_start desc);

alter table analytics.metrics enable row level security, force row level security;
create policy baseline_deny_all on analytics.metrics as permissive for all to public using (false) with check (false);
create policy owner_full_access on analytics.metrics for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on analytics.metrics
  for each row execute function app.set_updated_at();

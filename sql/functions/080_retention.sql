-- functions/080_retention.sql
-- What: app.purge_expired_data(dry_run) applies the data-retention rules in one place and returns
-- what it removed (or, with dry_run, would remove) per item. Periods come from
-- tenant.instance_settings (category 'retention', seeded by 20261122005) with safe defaults; audit
-- evidence is never purged before six years (HIPAA), whatever the setting says.
--   tenant.api_key_usage            older than retention.api_usage_trail_days (90)
--   tenant.oauth_*_tokens           expired/revoked longer than retention.oauth_token_grace_days (30)
--   app.share_tokens                expired/revoked longer than retention.share_token_grace_days (30)
--   cache.analysis_results          expired
--   logs.performance_logs           older than retention.performance_log_days (30)
--   app.documents (status deleted)  older than retention.deleted_document_days (30); the S3 object
--                                   is queued in storage_meta.deletion_queue first
--   storage_meta.deletion_queue     completed more than 90 days ago
--   audit.hash_salts                older than retention.hash_salt_months (13): old IP/device hashes
--                                   become unlinkable
--   audit.security_events, share_audit, phi_access_log, erasure_log   older than the audit period
--   audit.log                       whole monthly partitions entirely older than the audit period
--                                   are DETACHED into audit.log_archive (app.detach_expired_partitions,
--                                   functions/100): never dropped here, never deleted row by row; an
--                                   archived month is dropped only by audit.release_archived_partition
--                                   with the receipt of its export to the audit-export bucket
-- SECURITY INVOKER: effective only as the owner (run by app.run_maintenance or an operator).

create or replace function app.retention_setting(p_key text, p_default integer)
returns integer
language sql
stable
set search_path = ''
as $fn$
  select coalesce(
    (select case when jsonb_typeof(s.setting_value) = 'number' then (s.setting_value #>> '{}')::numeric::integer end
       from tenant.instance_settings s where s.setting_key = p_key),
    p_default)
$fn$;

comment on function app.retention_setting(text, integer) is 'Integer retention setting from tenant.instance_settings, or the default when unset or not a number.';

create or replace function app.purge_expired_data(p_dry_run boolean default false)
returns table (item text, rows_affected bigint)
language plpgsql
volatile
set search_path = ''
as $fn$
#variable_conflict use_column
declare
  v_now        timestamptz := now();
  v_audit      interval := greatest(make_interval(years => app.retention_setting('retention.audit_years', 6)), audit.evidence_retention());
  v_rule       record;
  v_n          bigint;
  v_total      jsonb := '{}';
begin
  -- Deleted documents: queue their S3 objects before their metadata goes.
  if not p_dry_run then
    insert into storage_meta.deletion_queue (organization_id, bucket_kind, object_key, reason)
    select d.organization_id, 'documents', d.s3_key, 'retention'
      from app.documents d
     where d.status = 'deleted'
       and d.deleted_at < v_now - make_interval(days => app.retention_setting('retention.deleted_document_days', 30))
       and not exists (select from storage_meta.deletion_queue q where q.bucket_kind = 'documents' and q.object_key = d.s3_key);
  end if;

  for v_rule in
    select * from (values
      (1,  'tenant.api_key_usage',          'used_at < $1',
           v_now - make_interval(days => app.retention_setting('retention.api_usage_trail_days', 90))),
      (2,  'tenant.oauth_refresh_tokens',   'coalesce(revoked_at, expires_at) < $1',
           v_now - make_interval(days => app.retention_setting('retention.oauth_token_grace_days', 30))),
      (3,  'tenant.oauth_access_tokens',    'coalesce(revoked_at, expires_at) < $1',
           v_now - make_interval(days => app.retention_setting('retention.oauth_token_grace_days', 30))),
      (4,  'app.share_tokens',              'coalesce(revoked_at, expires_at) < $1',
           v_now - make_interval(days => app.retention_setting('retention.share_token_grace_days', 30))),
      (5,  'cache.analysis_results',        'expires_at < $1', v_now),
      (6,  'logs.performance_logs',         'logged_at < $1',
           v_now - make_interval(days => app.retention_setting('retention.performance_log_days', 30))),
      (7,  'app.documents',                 'status = ''deleted'' and deleted_at < $1',
           v_now - make_interval(days => app.retention_setting('retention.deleted_document_days', 30))),
      (8,  'storage_meta.deletion_queue',   'completed_at < $1', v_now - interval '90 days'),
      (9,  'audit.hash_salts',              'period_start < $1',
           date_trunc('month', v_now) - make_interval(months => app.retention_setting('retention.hash_salt_months', 13))),
      (10, 'audit.security_events',         'occurred_at < $1', v_now - v_audit),
      (11, 'audit.share_audit',             'occurred_at < $1', v_now - v_audit),
      (12, 'audit.phi_access_log',          'occurred_at < $1', v_now - v_audit),
      (13, 'audit.erasure_log',             'occurred_at < $1', v_now - v_audit)
    ) as t(ord, tbl, predicate, cutoff)
    order by ord
  loop
    if p_dry_run then
      execute format('select count(*) from %s where %s', v_rule.tbl, v_rule.predicate) into v_n using v_rule.cutoff;
    else
      execute format('delete from %s where %s', v_rule.tbl, v_rule.predicate) using v_rule.cutoff;
      get diagnostics v_n = row_count;
    end if;
    item := v_rule.tbl;
    rows_affected := v_n;
    v_total := v_total || jsonb_build_object(v_rule.tbl, v_n);
    return next;
  end loop;

  -- audit.log: detach monthly partitions that end before the audit cut-off into audit.log_archive
  -- (functions/100_partition_maintenance.sql); the dry run only counts them.
  select count(*) into v_n from app.detach_expired_partitions(p_dry_run) d where d.parent = 'audit.log';
  item := 'audit.log (partitions)';
  rows_affected := v_n;
  v_total := v_total || jsonb_build_object('audit.log partitions', v_n);
  return next;

  if not p_dry_run then
    perform audit.record_security_event('retention_purge', 'info', v_total);
  end if;
end
$fn$;

comment on function app.purge_expired_data(boolean) is
  'Applies the retention rules (tenant.instance_settings, category retention) and returns rows removed per item; dry_run only counts. Audit evidence: never younger than six years; expired audit.log months are detached whole into audit.log_archive (item audit.log (partitions)), never dropped.';

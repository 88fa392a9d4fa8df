-- 20261122034_materialized_views.sql
-- What: the seeds' materialized views (dashboards computed once per refresh instead of per request).
-- Materialized views cannot be security_invoker and row-level security does not apply to them: whoever
-- may SELECT one sees every row. So they are placed by who may see ALL of their rows:
--   * schema analytics_private (new; no grant to anybody: only the owner reads it) for views holding
--     tenant data or PHI. Request roles reach them only through SECURITY DEFINER functions that
--     authorise the caller per organization / patient (sql/functions/110_materialized_views.sql):
--       provider_availability   per provider: open slots ahead, next free slot, specialties
--                               (seed: provider_availability_summary)         -> app.provider_availability(org)
--       patient_mood_summary    per patient (PHI): 7/30-day averages, entries, last entry, current
--                               streak of days with an entry (seed: patient_mood_analytics)
--                                                                             -> app.patient_mood_summary(patient)
--       organization_dashboard  per organization: patients, providers, appointments ahead / last 30
--                               days by outcome, waitlist, mood, documents (seed: organization dashboard
--                               metrics)                                      -> tenant.organization_dashboard(org)
--       top_providers           per organization and specialty: providers ranked by completed
--                               appointments in 90 days (seed: top performers by category)
--                                                                             -> app.top_providers(org, specialty)
--   * schema analytics (the access model lets analytics_reader = research partners, and authenticated,
--     read every relation there) only for DE-IDENTIFIED views: instance-wide aggregates with no
--     person, no organization, dates coarsened to weeks/months, and every row covering at least 11
--     distinct patients (smaller cells are suppressed, as for analytics.metrics):
--       mood_weekly                 week, patients, entries, average and spread of mood scores
--       appointment_volume_monthly  month, type, modality, status: appointments, patients, providers
-- Every view has a unique index (required by REFRESH ... CONCURRENTLY, which app.refresh_materialized_views
-- uses so readers are never blocked) and a refreshed_at column. "Now" in a view means the last refresh.
-- Days are UTC days.
-- A later migration that changes a column these views read must drop and re-create the view.

create schema if not exists analytics_private;
comment on schema analytics_private is
  'Materialized views holding tenant data or PHI (no row-level security on materialized views): readable by the owner only; request roles go through authorising functions (app.provider_availability, app.patient_mood_summary, tenant.organization_dashboard, app.top_providers). Refreshed by app.refresh_materialized_views().';
revoke all on schema analytics_private from public;

-- ---------------------------------------------------------------------------------------------
-- analytics_private.provider_availability
-- ---------------------------------------------------------------------------------------------

create materialized view analytics_private.provider_availability as
select p.organization_id,
       p.id                                                                as provider_id,
       p.first_name,
       p.last_name,
       p.specialties,
       p.telehealth,
       p.accepting_new_patients,
       count(s.id)                                                         as available_slots,
       count(s.id) filter (where s.starts_at < now() + interval '7 days')  as available_slots_7_days,
       count(s.id) filter (where s.modality = 'telehealth')                as telehealth_slots,
       min(s.starts_at)                                                    as next_available,
       now()                                                               as refreshed_at
  from app.providers p
  left join app.appointment_slots s
         on s.provider_id = p.id
        and s.organization_id = p.organization_id
        and s.status = 'available'
        and s.starts_at > now()
 where p.status = 'active'
 group by p.id
with data;

comment on materialized view analytics_private.provider_availability is
  'Active providers with their open (available, future) slots: count, next 7 days, telehealth, next free slot. Read through app.provider_availability(org).';
create unique index provider_availability_key on analytics_private.provider_availability (provider_id);
create index provider_availability_org_idx on analytics_private.provider_availability (organization_id, next_available);

-- ---------------------------------------------------------------------------------------------
-- analytics_private.patient_mood_summary (PHI)
-- ---------------------------------------------------------------------------------------------

create materialized view analytics_private.patient_mood_summary as
with recent as (
  select m.organization_id, m.patient_id, m.mood_score, m.recorded_at,
         (m.recorded_at at time zone 'UTC')::date as day
    from app.mood_entries m
   where m.recorded_at >= now() - interval '90 days'
),
runs as (
  -- gaps and islands: consecutive days share day - row_number()
  select d.patient_id, d.day, d.day - (row_number() over (partition by d.patient_id order by d.day))::integer as run
    from (select distinct r.patient_id, r.day from recent r) d
),
current_streak as (
  -- the run that reaches today or yesterday (a streak is not broken before the day is over)
  select s.patient_id, max(s.days) as days
    from (select patient_id, count(*) as days, max(day) as last_day from runs group by patient_id, run) s
   where s.last_day >= (now() at time zone 'UTC')::date - 1
   group by s.patient_id
)
select r.organization_id,
       r.patient_id,
       round(avg(r.mood_score) filter (where r.recorded_at >= now() - interval '7 days'), 2)  as avg_mood_7_days,
       round(avg(r.mood_score) filter (where r.recorded_at >= now() - interval '30 days'), 2) as avg_mood_30_days,
       count(*) filter (where r.recorded_at >= now() - interval '7 days')                    as entries_7_days,
       count(*) filter (where r.recorded_at >= now() - interval '30 days')                   as entries_30_days,
       count(*)                                                                              as entries_90_days,
       max(r.recorded_at)                                                                    as last_entry_at,
       coalesce(max(c.days), 0)                                                              as current_streak_days,
       now()                                                                                 as refreshed_at
  from recent r
  left join current_streak c on c.patient_id = r.patient_id
 group by r.organization_id, r.patient_id
with data;

comment on materialized view analytics_private.patient_mood_summary is
  'PHI: per patient with a mood entry in the last 90 days: average mood over 7 and 30 days, entries, last entry, current streak of consecutive UTC days with an entry. Read through app.patient_mood_summary(patient).';
create unique index patient_mood_summary_key on analytics_private.patient_mood_summary (patient_id);
create index patient_mood_summary_org_idx on analytics_private.patient_mood_summary (organization_id);

-- ---------------------------------------------------------------------------------------------
-- analytics_private.organization_dashboard
-- ---------------------------------------------------------------------------------------------

create materialized view analytics_private.organization_dashboard as
with appointments as (
  select a.organization_id,
         count(*) filter (where a.start_time >= now() and a.status in ('scheduled', 'confirmed'))    as upcoming_7_days,
         count(*) filter (where a.start_time < now())                                                as past_30_days,
         count(*) filter (where a.start_time < now() and a.status = 'completed')                     as completed_30_days,
         count(*) filter (where a.start_time < now() and a.status = 'no_show')                       as no_show_30_days,
         count(*) filter (where a.start_time < now() and a.status = 'cancelled')                     as cancelled_30_days,
         count(*) filter (where a.start_time < now() and a.modality = 'telehealth')                  as telehealth_30_days
    from app.appointments a
   where a.start_time >= now() - interval '30 days'
     and a.start_time < now() + interval '7 days'
   group by a.organization_id
),
patients as (
  select p.organization_id,
         count(*) filter (where p.status = 'active')                          as active_patients,
         count(*) filter (where p.created_at >= now() - interval '30 days')   as new_patients_30_days
    from app.patients p
   group by p.organization_id
),
providers as (
  select p.organization_id,
         count(*) filter (where p.status = 'active')                as active_providers,
         count(*) filter (where p.status = 'active' and p.telehealth) as telehealth_providers
    from app.providers p
   group by p.organization_id
),
waitlist as (
  select w.organization_id, count(*) as waitlist_active
    from app.waitlist_entries w
   where w.status = 'active'
   group by w.organization_id
),
mood as (
  select m.organization_id,
         count(*)                     as mood_entries_30_days,
         count(distinct m.patient_id) as mood_patients_30_days,
         round(avg(m.mood_score), 2)  as avg_mood_30_days
    from app.mood_entries m
   where m.recorded_at >= now() - interval '30 days'
   group by m.organization_id
),
documents as (
  select d.organization_id, count(*) as documents, coalesce(sum(d.size_bytes), 0) as document_bytes
    from app.documents d
   where d.status <> 'deleted'
   group by d.organization_id
)
select o.id                                      as organization_id,
       o.name,
       o.status,
       coalesce(pa.active_patients, 0)           as active_patients,
       coalesce(pa.new_patients_30_days, 0)      as new_patients_30_days,
       coalesce(pr.active_providers, 0)          as active_providers,
       coalesce(pr.telehealth_providers, 0)      as telehealth_providers,
       coalesce(a.upcoming_7_days, 0)            as appointments_next_7_days,
       coalesce(a.past_30_days, 0)               as appointments_last_30_days,
       coalesce(a.completed_30_days, 0)          as completed_last_30_days,
       coalesce(a.no_show_30_days, 0)            as no_show_last_30_days,
       coalesce(a.cancelled_30_days, 0)          as cancelled_last_30_days,
       coalesce(a.telehealth_30_days, 0)         as telehealth_last_30_days,
       case when coalesce(a.past_30_days, 0) > 0
            then round(100.0 * a.no_show_30_days / a.past_30_days, 2) end as no_show_rate_percent,
       coalesce(w.waitlist_active, 0)            as waitlist_active,
       coalesce(m.mood_entries_30_days, 0)       as mood_entries_30_days,
       coalesce(m.mood_patients_30_days, 0)      as mood_patients_30_days,
       m.avg_mood_30_days,
       coalesce(d.documents, 0)                  as documents,
       coalesce(d.document_bytes, 0)             as document_bytes,
       now()                                     as refreshed_at
  from tenant.organizations o
  left join appointments a on a.organization_id = o.id
  left join patients pa    on pa.organization_id = o.id
  left join providers pr   on pr.organization_id = o.id
  left join waitlist w     on w.organization_id = o.id
  left join mood m         on m.organization_id = o.id
  left join documents d    on d.organization_id = o.id
with data;

comment on materialized view analytics_private.organization_dashboard is
  'Per organization: active/new patients, providers, appointments in the next 7 days and the last 30 days by outcome (no-show rate), active waitlist, mood entries and average, documents. Read through tenant.organization_dashboard(org).';
create unique index organization_dashboard_key on analytics_private.organization_dashboard (organization_id);

-- ---------------------------------------------------------------------------------------------
-- analytics_private.top_providers
-- ---------------------------------------------------------------------------------------------

create materialized view analytics_private.top_providers as
with completed as (
  select a.organization_id, a.provider_id, count(*) as completed, count(distinct a.patient_id) as patients
    from app.appointments a
   where a.status = 'completed'
     and a.start_time >= now() - interval '90 days'
     and a.start_time < now()
   group by a.organization_id, a.provider_id
)
select p.organization_id,
       s.specialty,
       p.id                                  as provider_id,
       p.first_name,
       p.last_name,
       p.telehealth,
       coalesce(c.completed, 0)              as completed_90_days,
       coalesce(c.patients, 0)               as patients_90_days,
       rank() over (partition by p.organization_id, s.specialty order by coalesce(c.completed, 0) desc) as rank_in_specialty,
       now()                                 as refreshed_at
  from app.providers p
 cross join lateral (select distinct x.specialty from unnest(p.specialties) as x(specialty)) s
  left join completed c on c.provider_id = p.id and c.organization_id = p.organization_id
 where p.status = 'active'
with data;

comment on materialized view analytics_private.top_providers is
  'Per organization and specialty: active providers ranked by appointments completed in the last 90 days (and distinct patients seen). Read through app.top_providers(org, specialty).';
create unique index top_providers_key on analytics_private.top_providers (provider_id, specialty);
create index top_providers_rank_idx on analytics_private.top_providers (organization_id, specialty, rank_in_specialty);

-- ---------------------------------------------------------------------------------------------
-- analytics.mood_weekly (de-identified)
-- ---------------------------------------------------------------------------------------------

create materialized view analytics.mood_weekly as
select date_trunc('week', m.recorded_at at time zone 'UTC')::date as week_start,
       count(distinct m.patient_id)                                as patients,
       count(*)                                                    as entries,
       round(avg(m.mood_score), 2)                                 as avg_mood,
       round(stddev_samp(m.mood_score), 2)                         as stddev_mood,
       now()                                                       as refreshed_at
  from app.mood_entries m
 where m.recorded_at < now()
 group by 1
having count(distinct m.patient_id) >= 11
with data;

comment on materialized view analytics.mood_weekly is
  'De-identified: mood scores per UTC week over the whole instance (no person, no organization); weeks with fewer than 11 patients are suppressed. Readable by research partners (analytics_reader).';
create unique index mood_weekly_key on analytics.mood_weekly (week_start);

-- ---------------------------------------------------------------------------------------------
-- analytics.appointment_volume_monthly (de-identified)
-- ---------------------------------------------------------------------------------------------

create materialized view analytics.appointment_volume_monthly as
select date_trunc('month', a.start_time at time zone 'UTC')::date as month,
       a.appointment_type,
       a.modality,
       a.status,
       count(*)                                                  as appointments,
       count(distinct a.patient_id)                              as patients,
       count(distinct a.provider_id)                             as providers,
       now()                                                     as refreshed_at
  from app.appointments a
 where a.start_time < now()
 group by 1, 2, 3, 4
having count(distinct a.patient_id) >= 11
with data;

comment on materialized view analytics.appointment_volume_monthly is
  'De-identified: past appointments per UTC month, type, modality and status over the whole instance (no person, no organization); cells with fewer than 11 patients are suppressed. Readable by research partners (analytics_reader).';
create unique index appointment_volume_monthly_key on analytics.appointment_volume_monthly (month, appointment_type, modality, status);

-- 20261122011_patient_tracking.sql
-- What: health data a patient (or their devices and providers) records over time.
--   * app.patient_data_import_sources  connected sources (Apple Health, FHIR, ...); their OAuth
--                                      tokens are field-encrypted (the seed kept auth_token in clear).
--   * app.measurements                 vitals/labs/device readings, traceable to an import source
--                                      and a treatment (and, with e-commerce, an order item).
--   * app.mood_entries                 mood score 1-10 with its colour DERIVED from the score
--                                      (generated column, so the two can never disagree).
--   * app.patient_food_log, app.patient_activity_log, app.patient_condition_events,
--     app.patient_insights, app.patient_health_goals, app.patient_learning_progress.
-- All rows belong to a patient of one organization: (organization_id, patient_id) references
-- app.patients ON DELETE CASCADE (erasing a patient removes them), and each table is audited by
-- audit.log_change(). The seeds referenced profiles(id); health data belongs to the patient record.

create table app.patient_data_import_sources (
  id                      uuid        not null default gen_random_uuid(),
  organization_id         uuid        not null,
  patient_id              uuid        not null,
  source_name             text        not null,
  source_type             text        not null,
  auth_token_encrypted    bytea,
  refresh_token_encrypted bytea,
  token_expires_at        timestamptz,
  status                  text        not null default 'pending',
  last_sync_at            timestamptz,
  last_error              text,
  created_at              timestamptz not null default now(),
  updated_at              timestamptz not null default now(),
  constraint patient_data_import_sources_pkey primary key (id),
  constraint patient_data_import_sources_org_id_key unique (organization_id, id),
  constraint patient_data_import_sources_patient_source_key unique (patient_id, source_type, source_name),
  constraint patient_data_import_sources_patient_fkey foreign key (organization_id, patient_id)
    references app.patients (organization_id, id) on delete cascade,
  constraint patient_data_import_sources_name_not_blank check (length(btrim(source_name)) between 1 and 200),
  constraint patient_data_import_sources_type_valid check (source_type in (
    'apple_health', 'google_fit', 'fitbit', 'withings', 'oura', 'garmin', 'fhir', 'csv', 'other')),
  constraint patient_data_import_sources_status_valid check (status in ('pending', 'active', 'error', 'revoked', 'disconnected')),
  constraint patient_data_import_sources_auth_token_is_ciphertext check (
    auth_token_encrypted is null or app.phi_ciphertext_key_version(auth_token_encrypted) is not null),
  constraint patient_data_import_sources_refresh_token_is_ciphertext check (
    refresh_token_encrypted is null or app.phi_ciphertext_key_version(refresh_token_encrypted) is not null),
  constraint patient_data_import_sources_active_has_token check (status <> 'active' or auth_token_encrypted is not null)
);

comment on table app.patient_data_import_sources is
  'Data sources a patient connected (wearables, FHIR endpoints, files); their access/refresh tokens are field-encrypted.';
comment on column app.patient_data_import_sources.source_type is 'PHI: which health services the patient uses.';
comment on column app.patient_data_import_sources.auth_token_encrypted is 'Access token of the source, field-encrypted (app.encrypt_phi). A credential, not PHI.';
comment on column app.patient_data_import_sources.refresh_token_encrypted is 'Refresh token of the source, field-encrypted. A credential, not PHI.';
comment on column app.patient_data_import_sources.last_error is 'Last synchronisation error (technical message; must not contain health data).';

create index patient_data_import_sources_sync_idx on app.patient_data_import_sources (last_sync_at) where status = 'active';

alter table app.patient_data_import_sources enable row level security, force row level security;
create policy baseline_deny_all on app.patient_data_import_sources as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.patient_data_import_sources for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on app.patient_data_import_sources
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on app.patient_data_import_sources
  for each row execute function audit.log_change();

-- ---------------------------------------------------------------------------------------------

create table app.measurements (
  id               uuid        not null default gen_random_uuid(),
  organization_id  uuid        not null,
  patient_id       uuid        not null,
  measurement_type text        not null,
  value            numeric     not null,
  unit             text        not null,
  measured_at      timestamptz not null,
  source           text        not null default 'manual',
  import_source_id uuid,
  treatment_id     uuid,
  notes            text,
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  constraint measurements_pkey primary key (id),
  constraint measurements_patient_fkey foreign key (organization_id, patient_id)
    references app.patients (organization_id, id) on delete cascade,
  constraint measurements_import_source_fkey foreign key (organization_id, import_source_id)
    references app.patient_data_import_sources (organization_id, id) on delete set null (import_source_id),
  constraint measurements_treatment_fkey foreign key (treatment_id)
    references app.treatments (id) on delete set null,
  constraint measurements_type_format check (measurement_type ~ '^[a-z][a-z0-9_]{1,63}$'),
  constraint measurements_unit_not_blank check (length(btrim(unit)) between 1 and 32),
  constraint measurements_value_finite check (value > -1e12 and value < 1e12),
  constraint measurements_source_valid check (source in ('manual', 'device', 'import', 'lab', 'provider')),
  constraint measurements_import_has_source check (source <> 'import' or import_source_id is not null)
);

comment on table app.measurements is
  'Measurements of a patient (vitals, labs, device readings) with provenance (import source, treatment).';
comment on column app.measurements.measurement_type is 'PHI: what was measured (e.g. glucose, weight).';
comment on column app.measurements.value is 'PHI: measured value.';
comment on column app.measurements.measured_at is 'PHI: when it was measured.';
comment on column app.measurements.notes is 'PHI: free-text notes.';

create index measurements_patient_type_time_idx on app.measurements (patient_id, measurement_type, measured_at desc);
create index measurements_import_source_idx on app.measurements (import_source_id) where import_source_id is not null;
create index measurements_treatment_idx on app.measurements (treatment_id) where treatment_id is not null;

alter table app.measurements enable row level security, force row level security;
create policy baseline_deny_all on app.measurements as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.measurements for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on app.measurements
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on app.measurements
  for each row execute function audit.log_change();

-- ---------------------------------------------------------------------------------------------

create table app.mood_entries (
  id              uuid        not null default gen_random_uuid(),
  organization_id uuid        not null,
  patient_id      uuid        not null,
  mood_score      integer     not null,
  mood_color      text        generated always as (
                    case mood_score
                      when 1 then '#B71C1C' when 2 then '#D32F2F' when 3 then '#F44336' when 4 then '#FF7043'
                      when 5 then '#FFA726' when 6 then '#FFCA28' when 7 then '#D4E157' when 8 then '#9CCC65'
                      when 9 then '#66BB6A' when 10 then '#2E7D32'
                    end) stored,
  notes           text,
  recorded_at     timestamptz not null default now(),
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  constraint mood_entries_pkey primary key (id),
  constraint mood_entries_patient_fkey foreign key (organization_id, patient_id)
    references app.patients (organization_id, id) on delete cascade,
  constraint mood_entries_score_range check (mood_score between 1 and 10),
  constraint mood_entries_notes_length check (notes is null or length(notes) <= 5000)
);

comment on table app.mood_entries is 'Mood tracking: a score from 1 to 10 per entry; the hex colour is derived from the score.';
comment on column app.mood_entries.mood_score is 'PHI: mood score 1 (worst) to 10 (best).';
comment on column app.mood_entries.mood_color is 'PHI: display colour derived from mood_score (generated).';
comment on column app.mood_entries.notes is 'PHI: free-text mood notes (mental health).';
comment on column app.mood_entries.recorded_at is 'PHI: when the mood was recorded.';

create index mood_entries_patient_time_idx on app.mood_entries (patient_id, recorded_at desc);

alter table app.mood_entries enable row level security, force row level security;
create policy baseline_deny_all on app.mood_entries as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.mood_entries for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on app.mood_entries
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on app.mood_entries
  for each row execute function audit.log_change();

-- ---------------------------------------------------------------------------------------------

create table app.patient_food_log (
  id              uuid          not null default gen_random_uuid(),
  organization_id uuid          not null,
  patient_id      uuid          not null,
  consumed_at     timestamptz   not null default now(),
  food_name       text          not null,
  quantity        numeric(10, 2),
  unit            text,
  calories        integer,
  protein_g       numeric(8, 2),
  carbs_g         numeric(8, 2),
  fat_g           numeric(8, 2),
  notes           text,
  created_at      timestamptz   not null default now(),
  updated_at      timestamptz   not null default now(),
  constraint patient_food_log_pkey primary key (id),
  constraint patient_food_log_patient_fkey foreign key (organization_id, patient_id)
    references app.patients (organization_id, id) on delete cascade,
  constraint patient_food_log_food_not_blank check (length(btrim(food_name)) between 1 and 300),
  constraint patient_food_log_quantity_positive check (quantity is null or quantity > 0),
  constraint patient_food_log_quantity_has_unit check (quantity is null or unit is not null),
  constraint patient_food_log_calories_range check (calories is null or calories between 0 and 20000),
  constraint patient_food_log_macros_nonnegative check (
    coalesce(protein_g, 0) >= 0 and coalesce(carbs_g, 0) >= 0 and coalesce(fat_g, 0) >= 0)
);

comment on table app.patient_food_log is 'What a patient ate and when, with optional nutrition values.';
comment on column app.patient_food_log.consumed_at is 'PHI: when the food was eaten.';
comment on column app.patient_food_log.food_name is 'PHI: what was eaten (diet can reveal conditions).';
comment on column app.patient_food_log.notes is 'PHI: free-text notes.';

create index patient_food_log_patient_time_idx on app.patient_food_log (patient_id, consumed_at desc);

alter table app.patient_food_log enable row level security, force row level security;
create policy baseline_deny_all on app.patient_food_log as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.patient_food_log for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on app.patient_food_log
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on app.patient_food_log
  for each row execute function audit.log_change();

-- ---------------------------------------------------------------------------------------------

create table app.patient_activity_log (
  id               uuid        not null default gen_random_uuid(),
  organization_id  uuid        not null,
  patient_id       uuid        not null,
  activity_type    text        not null,
  performed_at     timestamptz not null default now(),
  duration_minutes integer,
  intensity        text,
  calories_burned  integer,
  notes            text,
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  constraint patient_activity_log_pkey primary key (id),
  constraint patient_activity_log_patient_fkey foreign key (organization_id, patient_id)
    references app.patients (organization_id, id) on delete cascade,
  constraint patient_activity_log_type_format check (activity_type ~ '^[a-z][a-z0-9_]{1,63}$'),
  constraint patient_activity_log_duration_range check (duration_minutes is null or duration_minutes between 0 and 1440),
  constraint patient_activity_log_intensity_valid check (intensity is null or intensity in ('low', 'moderate', 'high', 'very_high')),
  constraint patient_activity_log_calories_range check (calories_burned is null or calories_burned between 0 and 20000)
);

comment on table app.patient_activity_log is 'Physical activity of a patient (type, time, duration, intensity, calories).';
comment on column app.patient_activity_log.activity_type is 'PHI: kind of activity (can reveal therapy or limitations).';
comment on column app.patient_activity_log.performed_at is 'PHI: when the activity took place.';
comment on column app.patient_activity_log.notes is 'PHI: free-text notes.';

create index patient_activity_log_patient_time_idx on app.patient_activity_log (patient_id, performed_at desc);

alter table app.patient_activity_log enable row level security, force row level security;
create policy baseline_deny_all on app.patient_activity_log as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.patient_activity_log for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on app.patient_activity_log
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on app.patient_activity_log
  for each row execute function audit.log_change();

-- ---------------------------------------------------------------------------------------------

create table app.patient_condition_events (
  id              uuid        not null default gen_random_uuid(),
  organization_id uuid        not null,
  patient_id      uuid        not null,
  condition_id    uuid        not null,
  event_type      text        not null,
  occurred_at     timestamptz not null default now(),
  severity        integer,
  notes           text,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  constraint patient_condition_events_pkey primary key (id),
  constraint patient_condition_events_patient_fkey foreign key (organization_id, patient_id)
    references app.patients (organization_id, id) on delete cascade,
  constraint patient_condition_events_condition_fkey foreign key (condition_id)
    references app.conditions (id) on delete restrict,
  constraint patient_condition_events_type_valid check (event_type in ('diagnosed', 'symptom', 'flare', 'remission', 'resolved', 'note')),
  constraint patient_condition_events_severity_range check (severity is null or severity between 1 and 10)
);

comment on table app.patient_condition_events is
  'Events of a patient''s condition over time (diagnosis, symptoms, flares, remission). A catalog condition in use cannot be deleted (RESTRICT).';
comment on column app.patient_condition_events.condition_id is 'PHI: the condition the patient has.';
comment on column app.patient_condition_events.event_type is 'PHI: what happened (diagnosed, flare, ...).';
comment on column app.patient_condition_events.occurred_at is 'PHI: when it happened.';
comment on column app.patient_condition_events.severity is 'PHI: severity 1-10.';
comment on column app.patient_condition_events.notes is 'PHI: free-text notes.';

create index patient_condition_events_patient_time_idx on app.patient_condition_events (patient_id, occurred_at desc);
create index patient_condition_events_condition_idx on app.patient_condition_events (condition_id);

alter table app.patient_condition_events enable row level security, force row level security;
create policy baseline_deny_all on app.patient_condition_events as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.patient_condition_events for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on app.patient_condition_events
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on app.patient_condition_events
  for each row execute function audit.log_change();

-- ---------------------------------------------------------------------------------------------

create table app.patient_insights (
  id               uuid         not null default gen_random_uuid(),
  organization_id  uuid         not null,
  patient_id       uuid         not null,
  insight_type     text         not null,
  insight_text     text         not null,
  confidence_score numeric(4, 3),
  data_sources     jsonb        not null default '[]',
  generated_at     timestamptz  not null default now(),
  viewed_at        timestamptz,
  is_hidden        boolean      not null default false,
  created_at       timestamptz  not null default now(),
  updated_at       timestamptz  not null default now(),
  constraint patient_insights_pkey primary key (id),
  constraint patient_insights_patient_fkey foreign key (organization_id, patient_id)
    references app.patients (organization_id, id) on delete cascade,
  constraint patient_insights_type_valid check (insight_type in ('trend', 'correlation', 'recommendation', 'alert', 'milestone')),
  constraint patient_insights_text_not_blank check (length(btrim(insight_text)) between 1 and 10000),
  constraint patient_insights_confidence_range check (confidence_score is null or confidence_score between 0 and 1),
  constraint patient_insights_sources_array check (jsonb_typeof(data_sources) = 'array'),
  constraint patient_insights_viewed_order check (viewed_at is null or viewed_at >= generated_at)
);

comment on table app.patient_insights is 'Generated insights about a patient''s data (trends, correlations, alerts) with confidence and provenance.';
comment on column app.patient_insights.insight_text is 'PHI: the insight about the patient''s health.';
comment on column app.patient_insights.data_sources is 'Which tables/sources the insight was derived from (ids and names, no values).';

create index patient_insights_patient_time_idx on app.patient_insights (patient_id, generated_at desc) where not is_hidden;

alter table app.patient_insights enable row level security, force row level security;
create policy baseline_deny_all on app.patient_insights as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.patient_insights for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on app.patient_insights
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on app.patient_insights
  for each row execute function audit.log_change();

-- ---------------------------------------------------------------------------------------------

create table app.patient_health_goals (
  id              uuid        not null default gen_random_uuid(),
  organization_id uuid        not null,
  patient_id      uuid        not null,
  title           text        not null,
  description     text,
  target_value    numeric,
  current_value   numeric,
  unit            text,
  start_date      date        not null default current_date,
  target_date     date,
  status          text        not null default 'active',
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  constraint patient_health_goals_pkey primary key (id),
  constraint patient_health_goals_patient_fkey foreign key (organization_id, patient_id)
    references app.patients (organization_id, id) on delete cascade,
  constraint patient_health_goals_title_not_blank check (length(btrim(title)) between 1 and 200),
  constraint patient_health_goals_date_order check (target_date is null or target_date >= start_date),
  constraint patient_health_goals_status_valid check (status in ('active', 'achieved', 'paused', 'abandoned')),
  constraint patient_health_goals_value_has_unit check (target_value is null or unit is not null)
);

comment on table app.patient_health_goals is 'Health goals of a patient (target, progress, dates, status).';
comment on column app.patient_health_goals.title is 'PHI: the goal (e.g. lower HbA1c below 7%).';
comment on column app.patient_health_goals.description is 'PHI: free-text description.';
comment on column app.patient_health_goals.target_value is 'PHI: target value.';
comment on column app.patient_health_goals.current_value is 'PHI: current value.';

create index patient_health_goals_patient_idx on app.patient_health_goals (patient_id, status);

alter table app.patient_health_goals enable row level security, force row level security;
create policy baseline_deny_all on app.patient_health_goals as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.patient_health_goals for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on app.patient_health_goals
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on app.patient_health_goals
  for each row execute function audit.log_change();

-- ---------------------------------------------------------------------------------------------

create table app.patient_learning_progress (
  id               uuid        not null default gen_random_uuid(),
  organization_id  uuid        not null,
  patient_id       uuid        not null,
  resource_id      uuid        not null,
  progress_percent integer     not null default 0,
  completed_at     timestamptz,
  last_accessed_at timestamptz,
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  constraint patient_learning_progress_pkey primary key (id),
  constraint patient_learning_progress_patient_resource_key unique (patient_id, resource_id),
  constraint patient_learning_progress_patient_fkey foreign key (organization_id, patient_id)
    references app.patients (organization_id, id) on delete cascade,
  constraint patient_learning_progress_resource_fkey foreign key (resource_id)
    references app.learning_resources (id) on delete cascade,
  constraint patient_learning_progress_percent_range check (progress_percent between 0 and 100),
  constraint patient_learning_progress_completed_at_100 check ((completed_at is not null) = (progress_percent = 100))
);

comment on table app.patient_learning_progress is
  'How far a patient got in a learning resource (the seed''s completed flag is completed_at, set exactly when progress is 100%).';
comment on column app.patient_learning_progress.resource_id is 'PHI: which resource the patient studies (can reveal a condition).';

create index patient_learning_progress_resource_idx on app.patient_learning_progress (resource_id);

alter table app.patient_learning_progress enable row level security, force row level security;
create policy baseline_deny_all on app.patient_learning_progress as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.patient_learning_progress for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on app.patient_learning_progress
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on app.patient_learning_progress
  for each row execute function audit.log_change();

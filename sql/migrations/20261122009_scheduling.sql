-- 20261122009_scheduling.sql
-- What: availability, appointments and waitlists.
--   * app.appointment_slots  bookable provider time; an exclusion constraint (btree_gist) keeps one
--                            provider's slots from overlapping.
--   * app.appointments       created PARTITIONED BY RANGE (start_time), one partition per UTC month
--                            (app.create_monthly_partition), plus a default partition as a safety
--                            net; app.run_maintenance keeps 18 months ahead. Types include
--                            psychotherapy and crisis_intervention (their RLS comes with the RLS
--                            issue). Notes are field-encrypted.
--   * app.waitlists / app.waitlist_entries  with a priority score for matching.
-- Why: the telehealth plan's appointments/slots/waitlists; its "rename, recreate LIKE ... PARTITION
-- BY" conversion is unnecessary because the table is born partitioned.
-- The primary key of a partitioned table must contain the partition key: (id, start_time).

create table app.appointment_slots (
  id              uuid        not null default gen_random_uuid(),
  organization_id uuid        not null,
  provider_id     uuid        not null,
  starts_at       timestamptz not null,
  ends_at         timestamptz not null,
  modality        text        not null default 'in_person',
  status          text        not null default 'available',
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  constraint appointment_slots_pkey primary key (id),
  constraint appointment_slots_org_id_key unique (organization_id, id),
  constraint appointment_slots_provider_fkey foreign key (organization_id, provider_id)
    references app.providers (organization_id, id) on delete cascade,
  constraint appointment_slots_time_order check (ends_at > starts_at and ends_at <= starts_at + interval '8 hours'),
  constraint appointment_slots_modality_valid check (modality in ('in_person', 'telehealth')),
  constraint appointment_slots_status_valid check (status in ('available', 'held', 'booked', 'blocked')),
  constraint appointment_slots_no_overlap exclude using gist (
    provider_id with =, tstzrange(starts_at, ends_at, '[)') with &&)
);

comment on table app.appointment_slots is 'Bookable time of a provider (no two slots of one provider overlap). Not PHI: no patient in it.';

create index appointment_slots_available_idx on app.appointment_slots (provider_id, starts_at) where status = 'available';

alter table app.appointment_slots enable row level security, force row level security;
create policy baseline_deny_all on app.appointment_slots as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.appointment_slots for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on app.appointment_slots
  for each row execute function app.set_updated_at();

-- ---------------------------------------------------------------------------------------------

create table app.appointments (
  id                  uuid        not null default gen_random_uuid(),
  start_time          timestamptz not null,
  end_time            timestamptz not null,
  organization_id     uuid        not null,
  patient_id          uuid        not null,
  provider_id         uuid        not null,
  slot_id             uuid,
  appointment_type    text        not null,
  status              text        not null default 'scheduled',
  modality            text        not null default 'in_person',
  notes_encrypted     bytea,
  cancellation_reason text,
  created_at          timestamptz not null default now(),
  updated_at          timestamptz not null default now(),
  constraint appointments_pkey primary key (id, start_time),
  constraint appointments_patient_fkey foreign key (organization_id, patient_id)
    references app.patients (organization_id, id) on delete cascade,
  constraint appointments_provider_fkey foreign key (organization_id, provider_id)
    references app.providers (organization_id, id) on delete restrict,
  constraint appointments_slot_fkey foreign key (organization_id, slot_id)
    references app.appointment_slots (organization_id, id) on delete set null (slot_id),
  constraint appointments_time_order check (end_time > start_time and end_time <= start_time + interval '12 hours'),
  constraint appointments_type_valid check (appointment_type in (
    'consultation', 'follow_up', 'psychotherapy', 'crisis_intervention', 'telehealth', 'lab_review', 'vaccination', 'procedure')),
  constraint appointments_status_valid check (status in (
    'scheduled', 'confirmed', 'checked_in', 'in_progress', 'completed', 'cancelled', 'no_show')),
  constraint appointments_modality_valid check (modality in ('in_person', 'telehealth')),
  constraint appointments_cancellation_reason_only_when_cancelled check (status = 'cancelled' or cancellation_reason is null),
  constraint appointments_notes_is_ciphertext check (notes_encrypted is null or app.phi_ciphertext_key_version(notes_encrypted) is not null)
) partition by range (start_time);

comment on table app.appointments is
  'Appointments, partitioned by month of start_time (UTC) with a default partition as safety net. Notes are field-encrypted.';
comment on column app.appointments.start_time is 'PHI: date and time of service.';
comment on column app.appointments.end_time is 'PHI: end of the service.';
comment on column app.appointments.appointment_type is 'PHI: kind of care (e.g. psychotherapy, crisis_intervention).';
comment on column app.appointments.notes_encrypted is 'PHI: clinical/psychotherapy notes, field-encrypted (app.encrypt_phi ciphertext).';
comment on column app.appointments.cancellation_reason is 'PHI: free-text reason for a cancellation.';

create index appointments_provider_scheduled_idx on app.appointments (provider_id, start_time) where status = 'scheduled';
create index appointments_patient_idx on app.appointments (patient_id, start_time desc);
create index appointments_slot_idx on app.appointments (slot_id) where slot_id is not null;

alter table app.appointments enable row level security, force row level security;
create policy baseline_deny_all on app.appointments as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.appointments for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on app.appointments
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on app.appointments
  for each row execute function audit.log_change();

select app.create_default_partition('app.appointments');
select app.ensure_monthly_partitions('app.appointments', 1, 18);

-- ---------------------------------------------------------------------------------------------

create table app.waitlists (
  id              uuid        not null default gen_random_uuid(),
  organization_id uuid        not null,
  provider_id     uuid,
  name            text        not null,
  specialty       text,
  status          text        not null default 'open',
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  constraint waitlists_pkey primary key (id),
  constraint waitlists_org_id_key unique (organization_id, id),
  constraint waitlists_organization_fkey foreign key (organization_id)
    references tenant.organizations (id) on delete restrict,
  constraint waitlists_provider_fkey foreign key (organization_id, provider_id)
    references app.providers (organization_id, id) on delete set null (provider_id),
  constraint waitlists_name_not_blank check (length(btrim(name)) between 1 and 200),
  constraint waitlists_status_valid check (status in ('open', 'paused', 'closed'))
);

comment on table app.waitlists is 'Waitlists of an organization, optionally for one provider or specialty. Not PHI.';

alter table app.waitlists enable row level security, force row level security;
create policy baseline_deny_all on app.waitlists as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.waitlists for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on app.waitlists
  for each row execute function app.set_updated_at();

create table app.waitlist_entries (
  id                 uuid          not null default gen_random_uuid(),
  organization_id    uuid          not null,
  waitlist_id        uuid          not null,
  patient_id         uuid          not null,
  priority_score     numeric(5, 2) not null default 50,
  status             text          not null default 'active',
  requested_modality text,
  offered_slot_id    uuid,
  offer_expires_at   timestamptz,
  notes              text,
  created_at         timestamptz   not null default now(),
  updated_at         timestamptz   not null default now(),
  constraint waitlist_entries_pkey primary key (id),
  constraint waitlist_entries_waitlist_fkey foreign key (organization_id, waitlist_id)
    references app.waitlists (organization_id, id) on delete cascade,
  constraint waitlist_entries_patient_fkey foreign key (organization_id, patient_id)
    references app.patients (organization_id, id) on delete cascade,
  constraint waitlist_entries_offered_slot_fkey foreign key (organization_id, offered_slot_id)
    references app.appointment_slots (organization_id, id) on delete set null (offered_slot_id),
  constraint waitlist_entries_priority_range check (priority_score between 0 and 100),
  constraint waitlist_entries_status_valid check (status in ('active', 'offered', 'booked', 'withdrawn', 'expired')),
  constraint waitlist_entries_modality_valid check (requested_modality is null or requested_modality in ('in_person', 'telehealth')),
  constraint waitlist_entries_offer_complete check (status <> 'offered' or (offered_slot_id is not null and offer_expires_at is not null))
);

comment on table app.waitlist_entries is 'A patient waiting on a waitlist, with a priority score (0-100) used to match freed slots.';
comment on column app.waitlist_entries.notes is 'PHI: scheduling notes (may mention symptoms or urgency).';
comment on column app.waitlist_entries.priority_score is 'PHI: clinical urgency score (0-100).';

create index waitlist_entries_matching_idx on app.waitlist_entries (waitlist_id, status, priority_score desc) where status = 'active';
create index waitlist_entries_patient_idx on app.waitlist_entries (patient_id);
create unique index waitlist_entries_one_open_per_patient on app.waitlist_entries (waitlist_id, patient_id)
  where status in ('active', 'offered');

alter table app.waitlist_entries enable row level security, force row level security;
create policy baseline_deny_all on app.waitlist_entries as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.waitlist_entries for all to phi_owner using (true) with check (true);

create trigger set_updated_at before update on app.waitlist_entries
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on app.waitlist_entries
  for each row execute function audit.log_change();

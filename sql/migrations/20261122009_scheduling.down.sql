-- phi-db:allow-destructive rolls back 20261122009_scheduling in local/dev: drops slots, appointments (with every partition) and waitlists
-- 20261122009_scheduling.down.sql: reverses 20261122009_scheduling.sql.
drop table if exists app.waitlist_entries;
drop table if exists app.waitlists;
drop table if exists app.appointments;
drop table if exists app.appointment_slots;

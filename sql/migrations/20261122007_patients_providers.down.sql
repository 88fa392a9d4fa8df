-- phi-db:allow-destructive rolls back 20261122007_patients_providers in local/dev: drops patients, providers, consents and crisis grants
-- 20261122007_patients_providers.down.sql: reverses 20261122007_patients_providers.sql.
drop table if exists app.crisis_access_grants;
drop table if exists app.patient_consents;
drop table if exists app.providers;
drop table if exists app.patients;

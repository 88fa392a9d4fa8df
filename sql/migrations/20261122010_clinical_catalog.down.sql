-- phi-db:allow-destructive rolls back 20261122010_clinical_catalog in local/dev: drops the catalog tables
-- 20261122010_clinical_catalog.down.sql: reverses 20261122010_clinical_catalog.sql.
drop table if exists app.learning_resources;
drop table if exists app.trials;
drop table if exists app.treatments;
drop table if exists app.conditions;

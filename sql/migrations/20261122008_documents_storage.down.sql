-- phi-db:allow-destructive rolls back 20261122008_documents_storage in local/dev: drops document and storage metadata tables
-- 20261122008_documents_storage.down.sql: reverses 20261122008_documents_storage.sql.
drop table if exists storage_meta.deletion_queue;
drop table if exists storage_meta.quotas;
drop table if exists storage_meta.object_chunks;
drop table if exists storage_meta.objects;
alter table app.patient_consents drop constraint if exists patient_consents_document_fkey;
alter table app.profiles drop constraint if exists profiles_consent_document_fkey;
drop table if exists app.documents;

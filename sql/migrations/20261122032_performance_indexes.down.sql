-- 20261122032_performance_indexes.down.sql: reverses 20261122032_performance_indexes.sql.
drop index if exists app.appointments_provider_during_idx;

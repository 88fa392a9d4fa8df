-- phi-db:allow-destructive rolls back 20261122016_operations in local/dev: drops the cache, performance-log and metrics tables it created
-- 20261122016_operations.down.sql: reverses 20261122016_operations.sql.
drop table if exists analytics.metrics;
drop table if exists logs.performance_logs;
drop table if exists cache.analysis_results;

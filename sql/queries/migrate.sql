-- Named queries of the migration runner (indexer/store/migrate.py).

-- lock --
-- A session lock only migrate takes: two concurrent runs apply each file once.
select pg_advisory_lock($1)

-- unlock --
select pg_advisory_unlock($1)

-- bootstrap --
-- The ledger of applied migrations, before any migration has run.
create schema if not exists core;
create table if not exists core.schema_migrations (
    version integer primary key,
    name text not null,
    checksum text not null,
    applied_at timestamptz not null default now()
);

-- applied --
select version, name, checksum from core.schema_migrations

-- record --
insert into core.schema_migrations (version, name, checksum) values ($1, $2, $3)

-- upkeep --
-- Idempotent upkeep that a clone or a restore of the database may have lost: the grants
-- of the read-only roles, and partitions from last month to three months ahead.
select core.apply_database_grants();
select core.ensure_flow_partitions(now() - interval '1 month', now() + interval '3 months');

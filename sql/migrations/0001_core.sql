-- 0001_core: the ledger of token flows and the indexer's own bookkeeping.
--
-- Everything on chain becomes a flow (chain, block, block_time, tx, idx, token, src, dst,
-- amount): src NULL is a mint, dst NULL a burn, amount in raw units. What a flow means is
-- decided later by joining with core.labels, so relabelling never needs a re-index.

create schema if not exists core;
create schema if not exists analytics;

-- Identifiers (addresses, hashes, signatures, chain names) use the "C" collation:
-- byte order is all they need, and it is several times cheaper to compare than a
-- locale's collation in the primary key and in joins with labels.

-- Partitioned by month of block_time: recent work touches small partitions however long
-- the history grows. Postgres wants the partition key in every unique index, hence
-- block_time in the key; (chain, tx, idx) stays unique because a reorg deletes a block's
-- flows before its transactions can reappear in another block.
create table core.flows (
    chain      text collate "C" not null,
    block      bigint        not null,
    block_time timestamptz   not null,
    tx         text collate "C" not null,
    idx        integer       not null,
    token      text collate "C" not null,
    src        text collate "C",
    dst        text collate "C",
    amount     numeric(78,0) not null check (amount >= 0),
    primary key (chain, tx, idx, block_time)
) partition by range (block_time);

-- Catches a timestamp no monthly partition covers instead of failing the batch;
-- ensure_flow_partitions moves such rows into their month when it is created.
create table core.flows_default partition of core.flows default;

-- Rows arrive in time order, so a BRIN index finds a day's or a reorg's rows at almost no
-- write cost (a btree here costs a fifth of the write rate). Reorg rollback deletes by
-- "chain, block > fork, block_time >= time of the first block above the fork".
create index flows_time_brin on core.flows using brin (block_time);

-- Monthly partitions from lo to hi inclusive. Rows already sitting in the default
-- partition for such a month are moved into it in the same transaction.
create function core.ensure_flow_partitions(lo timestamptz, hi timestamptz) returns integer
language plpgsql as $$
declare
    month_start timestamptz := date_trunc('month', lo at time zone 'UTC') at time zone 'UTC';
    month_end   timestamptz;
    part        text;
    created     integer := 0;
begin
    while month_start <= hi loop
        month_end := ((month_start at time zone 'UTC') + interval '1 month') at time zone 'UTC';
        part := format('flows_y%sm%s', to_char(month_start at time zone 'UTC', 'YYYY'),
                                        to_char(month_start at time zone 'UTC', 'MM'));
        if to_regclass(format('core.%I', part)) is null then
            -- Serialise creators: two writers meeting a new month at once.
            perform pg_advisory_xact_lock(hashtext('core.flows partitions'));
            if to_regclass(format('core.%I', part)) is null then
                if exists (select 1 from core.flows_default
                           where block_time >= month_start and block_time < month_end) then
                    execute format('create table core.%I (like core.flows including defaults including constraints)', part);
                    execute format('with moved as (delete from core.flows_default where block_time >= %L and block_time < %L returning *) insert into core.%I select * from moved', month_start, month_end, part);
                    execute format('alter table core.flows attach partition core.%I for values from (%L) to (%L)', part, month_start, month_end);
                else
                    execute format('create table core.%I partition of core.flows for values from (%L) to (%L)', part, month_start, month_end);
                end if;
                created := created + 1;
            end if;
        end if;
        month_start := month_end;
    end loop;
    return created;
end $$;

-- Block hashes of the unfinalised window (EVM blocks, Solana slots): reorg detection.
create table core.blocks (
    chain       text collate "C"        not null,
    number      bigint      not null,
    hash        text collate "C"        not null,
    parent_hash text collate "C"        not null,
    block_time  timestamptz not null,
    primary key (chain, number)
);

-- How far each (chain, source) is indexed. source '' is the chain-wide cursor (EVM);
-- Solana keeps one per address, with ref = the newest signature seen.
create table core.cursors (
    chain      text collate "C"        not null,
    source     text collate "C"        not null default '',
    block      bigint      not null,
    ref        text collate "C",
    updated_at timestamptz not null default now(),
    primary key (chain, source)
);

-- (chain, day) pairs whose flows changed since the last refresh of the rollups.
create table core.dirty_days (
    chain     text collate "C"        not null,
    day       date        not null,
    marked_at timestamptz not null default now(),
    primary key (chain, day)
);

-- Reference data mirrored from the config file (tokens, labels) or imported (prices).
create table core.tokens (
    chain      text collate "C"     not null,
    address    text collate "C"     not null,  -- ERC-20 contract (0x, lower case), SPL mint, or 'native'
    symbol     text collate "C"     not null,
    decimals   smallint not null check (decimals between 0 and 77),
    stablecoin boolean  not null default false,
    primary key (chain, address)
);

create table core.labels (
    id         bigint generated always as identity primary key,
    network    text collate "C" not null,
    chain      text collate "C" not null,
    address    text collate "C" not null,
    role       text collate "C" not null check (role in ('revenue', 'rewards', 'burn_revenue', 'mint_rewards')),
    name       text,
    valid_from date,  -- inclusive, UTC day; NULL = since always
    valid_to   date,  -- exclusive, UTC day; NULL = still valid
    check (valid_from is null or valid_to is null or valid_from < valid_to)
);
create unique index labels_identity on core.labels
    (network, chain, address, role, coalesce(valid_from, '-infinity'::date));
create index labels_by_address on core.labels (chain, address);

create table core.prices (
    day    date    not null,
    symbol text collate "C"    not null,
    usd    numeric not null check (usd >= 0),
    primary key (day, symbol)
);

-- Node profitability assumptions; network '*' is the default for every network.
create table core.assumptions (
    network     text collate "C"    primary key,
    watts       numeric not null check (watts > 0),
    usd_per_kwh numeric not null check (usd_per_kwh >= 0)
);
insert into core.assumptions (network, watts, usd_per_kwh) values ('*', 450, 0.15);

-- Roles: analysts and the API read analytics and nothing else, and can write nothing.
-- Roles are cluster-wide, so another database of the same server may have made them.
do $$
begin
    if not exists (select from pg_roles where rolname = 'depin_reader') then
        create role depin_reader login;
    end if;
    if not exists (select from pg_roles where rolname = 'depin_analyst') then
        create role depin_analyst login;
    end if;
end $$;
alter role depin_reader set default_transaction_read_only = on;
alter role depin_analyst set default_transaction_read_only = on;

revoke all on schema core from public;
revoke create on schema public from public;
revoke all on schema analytics from public;
grant usage on schema analytics to depin_reader, depin_analyst;
grant select on all tables in schema analytics to depin_reader, depin_analyst;
alter default privileges in schema analytics grant select on tables to depin_reader, depin_analyst;
alter default privileges in schema analytics revoke execute on functions from public;
alter default privileges in schema analytics grant execute on functions to depin_reader, depin_analyst;

-- Temporary tables are writes too; only the indexer (the role running migrations) keeps
-- them. Database-level privileges are not copied by CREATE DATABASE ... TEMPLATE nor
-- restored by a plain pg_dump, so migrate calls this on every run.
create function core.apply_database_grants() returns void language plpgsql as $$
begin
    execute format('revoke temporary on database %I from public', current_database());
    execute format('grant temporary, connect on database %I to %I', current_database(), current_user);
    execute format('grant connect on database %I to depin_reader, depin_analyst', current_database());
end $$;

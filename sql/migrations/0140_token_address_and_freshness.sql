-- 0140_token_address_and_freshness: one meaning per column name, and how fresh the figures are.
--
-- 1. `token` meant two things: the daily rollups keyed by (chain, day) held the token's
--    address, every other rollup and every analytics view its symbol. The address
--    columns are now `token_address` (as in core.tokens.address); `token` is always a
--    symbol. The analytics views, the API contract, keep `token` (the symbol) unchanged.
-- 2. analytics.freshness, one row per chain: how far it is indexed (block or slot, and
--    its time), when the figures were last refreshed, the dirty days still waiting for a
--    refresh, and the last error that keeps the figures behind. The writer notes the
--    newest flow time of each chain (core.chain_progress), the refresh its outcome
--    (core.refresh_status); the API's /v1/freshness, /readyz and the dashboard read it.

alter table rollup.revenue_daily rename column token to token_address;
alter table rollup.earnings_daily rename column token to token_address;

comment on column rollup.revenue_daily.token_address is
    'Token address (core.tokens.address: ERC-20 contract, SPL mint, Cosmos denom or ''native''); the monthly rollups and the analytics views hold its symbol, as token.';
comment on column rollup.earnings_daily.token_address is
    'Token address (core.tokens.address: ERC-20 contract, SPL mint, Cosmos denom or ''native''); the monthly rollups and the analytics views hold its symbol, as token.';
comment on column rollup.revenue_monthly.token is 'Token symbol (core.tokens.symbol).';
comment on column rollup.node_earnings_daily.token is 'Token symbol (core.tokens.symbol).';
comment on column rollup.node_earnings_monthly.token is 'Token symbol (core.tokens.symbol).';

-- Written by the writer, in the batch's transaction: the block time of the newest flow
-- stored for the chain. Its own table, not core.chain_status (the service's), so a batch
-- never waits on the service's status writes.
create table core.chain_progress (
    chain          text collate "C" primary key,
    newest_flow_at timestamptz not null
);
-- A database upgraded with flows already stored starts from them, not empty (a quiet
-- chain may wait days for its next flow).
insert into core.chain_progress (chain, newest_flow_at)
select chain, max(block_time) from core.flows group by chain;

-- The outcome of refreshes: one row. last_success_at is set in the refresh's own
-- transaction (a rolled-back refresh leaves it as it was); a failure is recorded after
-- the rollback, by whoever ran it (the service).
create table core.refresh_status (
    singleton       boolean primary key default true check (singleton),
    last_success_at timestamptz,
    last_failure_at timestamptz,
    last_error      text  -- NULL after a success
);
insert into core.refresh_status (singleton) values (true);

create view analytics.freshness as
with chains as (
    select chain from core.cursors where source = ''
    union select chain from core.chain_status
    union select chain from core.chain_progress
    union select chain from core.dirty_days
), dirty as (
    select chain, count(*) as n, min(marked_at) as since from core.dirty_days group by chain
)
select c.chain,
       cur.block                                                   as indexed_block,
       greatest(b.block_time, p.newest_flow_at)                    as indexed_time,
       r.last_success_at                                           as last_refresh,
       coalesce(d.n, 0)::int                                       as dirty_days,
       d.since                                                     as dirty_since,
       coalesce(s.last_error, 'refresh: ' || r.last_error)         as last_error
from chains c
left join core.cursors cur on cur.chain = c.chain and cur.source = ''
left join core.chain_status s on s.chain = c.chain
left join core.chain_progress p on p.chain = c.chain
left join dirty d on d.chain = c.chain
cross join core.refresh_status r
-- The stored block (EVM's unfinalised window) at or below the cursor: its time is the
-- indexed-to time itself; the primary key makes this one index probe.
left join lateral (
    select k.block_time from core.blocks k
    where k.chain = c.chain and k.number <= cur.block
    order by k.number desc limit 1
) b on true;

comment on view analytics.freshness is
    'Per chain: how far it is indexed and when, when the figures were last refreshed, how many days wait for a refresh, and the last error. Figures in the other analytics views are as of last_refresh.';
comment on column analytics.freshness.chain is 'Configured chain name.';
comment on column analytics.freshness.indexed_block is 'Block (EVM), slot (Solana) or height (Cosmos) everything is indexed up to; NULL before the first batch.';
comment on column analytics.freshness.indexed_time is 'Block time of indexed_block when its block is stored (the unfinalised window of a chain followed at its head), else of the newest flow indexed. That one is an estimate: blocks without flows after it leave no time, and on Solana, where each followed address is walked in turn, it may belong to an address walked further than the chain-wide cursor (indexed_block).';
comment on column analytics.freshness.last_refresh is 'When a refresh last succeeded (the same for every chain: a refresh recomputes all of them); NULL: never.';
comment on column analytics.freshness.dirty_days is 'UTC days of this chain with flows or prices changed since the last refresh took them: the figures of those days are not current yet.';
comment on column analytics.freshness.dirty_since is 'When the longest-waiting of those days was first marked (a day marked again keeps its first time); NULL when none waits.';
comment on column analytics.freshness.last_error is 'The last ingest error of the chain (NULL after a success), else the last refresh error, prefixed ''refresh: '' (NULL after a successful refresh).';

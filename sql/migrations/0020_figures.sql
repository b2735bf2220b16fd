-- 0020_figures: what flows mean (labels), daily and monthly rollups, and the analytics views.
--
-- Refresh is incremental (indexer/figures/refresh.py): writes mark (chain, day) dirty; a
-- refresh recomputes the daily rollups of dirty days only, then the monthly rollups of the
-- months those days fall in. The analytics views are plain views over these tables, not
-- materialised views: REFRESH MATERIALIZED VIEW, even CONCURRENTLY, recomputes all of
-- history, and the node-grain views reach millions of rows. Readers still never wait: a
-- refresh replaces rows in one transaction and MVCC shows readers the previous version.

create schema if not exists rollup;

-- Two labels may differ only in valid_to (the config does not forbid it and the rules
-- take the union of validity): 0001's uniqueness on valid_from was too strict.
drop index core.labels_identity;

-- Exact scaling of raw amounts: a product with an exact power of ten (scale = decimals)
-- never rounds, unlike numeric division or power(), which keep ~16 significant digits.
create function core.scale_amount(raw numeric, decimals integer) returns numeric
language sql immutable strict parallel safe
as $$ select raw * ('1e-' || decimals)::numeric $$;

-- USD price of a token symbol on a day: the imported price, else 1 for a stablecoin,
-- else NULL (never a silent zero).
create function core.price_usd(p_symbol text, p_day date, p_stablecoin boolean) returns numeric
language sql stable parallel safe
as $$
    select coalesce((select usd from core.prices where symbol = p_symbol and day = p_day),
                    case when p_stablecoin then 1::numeric end)
$$;

-- Labels valid on a day: [valid_from, valid_to).
create function core.label_valid(l core.labels, d date) returns boolean
language sql immutable parallel safe
as $$ select (l.valid_from is null or l.valid_from <= d) and (l.valid_to is null or d < l.valid_to) $$;

-- What every flow of a set of (chain, day) pairs means, one row per (network, role):
-- kind 'revenue' (counterparty = payer) or 'reward' (counterparty = node).
-- Rules (docs/methodology.md):
--   revenue      dst labelled revenue for N, src not NULL and not one of N's own addresses
--   rewards      src labelled rewards for N, dst not NULL and not one of N's own addresses
--   burn_revenue token labelled for N, dst NULL (a burn): revenue, payer = src
--   mint_rewards token labelled for N, src NULL (a mint), dst not one of N's addresses: reward
-- "N's own addresses" are the addresses with any label of N on that chain, valid that day.
create function core.classified_flows(p_chains text[], p_days date[])
returns table (network text, kind text, chain text, day date, tx text, idx integer, block bigint,
               block_time timestamptz, token text, src text, dst text, counterparty text, amount numeric)
language sql stable
as $$
with pairs as (
    select distinct c as chain, d as day from unnest(p_chains, p_days) as u(c, d)
), f as (
    -- One range scan (partition pruning + BRIN) and a hash semi-join on (chain, day):
    -- joining pair by pair made the planner rescan flows once per pair.
    select fl.chain, (fl.block_time at time zone 'UTC')::date as day, fl.tx, fl.idx, fl.block,
           fl.block_time, fl.token, fl.src, fl.dst, fl.amount
    from core.flows fl
    where fl.block_time >= (select min(day) from pairs)::timestamp at time zone 'UTC'
      and fl.block_time < ((select max(day) from pairs) + 1)::timestamp at time zone 'UTC'
      and (fl.chain, (fl.block_time at time zone 'UTC')::date) in (select chain, day from pairs)
)
-- Each branch finds its label through core.labels (chain, address); "one of N's own
-- addresses" is an indexed probe of the same table.
select l.network, 'revenue', f.chain, f.day, f.tx, f.idx, f.block, f.block_time, f.token, f.src, f.dst, f.src, f.amount
from f join core.labels l on l.chain = f.chain and l.address = f.dst and l.role = 'revenue'
where f.src is not null and core.label_valid(l, f.day)
  and not exists (select 1 from core.labels o where o.chain = f.chain and o.address = f.src
                  and o.network = l.network and core.label_valid(o, f.day))
union
select l.network, 'reward', f.chain, f.day, f.tx, f.idx, f.block, f.block_time, f.token, f.src, f.dst, f.dst, f.amount
from f join core.labels l on l.chain = f.chain and l.address = f.src and l.role = 'rewards'
where f.dst is not null and core.label_valid(l, f.day)
  and not exists (select 1 from core.labels o where o.chain = f.chain and o.address = f.dst
                  and o.network = l.network and core.label_valid(o, f.day))
union
select l.network, 'revenue', f.chain, f.day, f.tx, f.idx, f.block, f.block_time, f.token, f.src, f.dst, f.src, f.amount
from f join core.labels l on l.chain = f.chain and l.address = f.token and l.role = 'burn_revenue'
where f.dst is null and core.label_valid(l, f.day)
union
select l.network, 'reward', f.chain, f.day, f.tx, f.idx, f.block, f.block_time, f.token, f.src, f.dst, f.dst, f.amount
from f join core.labels l on l.chain = f.chain and l.address = f.token and l.role = 'mint_rewards'
where f.src is null and f.dst is not null and core.label_valid(l, f.day)
  and not exists (select 1 from core.labels o where o.chain = f.chain and o.address = f.dst
                  and o.network = l.network and core.label_valid(o, f.day))
$$;

-- Daily rollups keyed by (chain, day): exactly what a dirty (chain, day) recomputes.
-- Amounts are already scaled to whole tokens; USD NULL where no price is known.
create table rollup.revenue_daily (
    chain      text collate "C" not null,
    day        date not null,
    network    text collate "C" not null,
    token      text collate "C" not null,   -- token address (symbol joins later)
    payer      text collate "C" not null,
    amount     numeric not null,
    amount_usd numeric,
    payments   integer not null,
    primary key (chain, day, network, token, payer)
);
create index revenue_daily_network_day on rollup.revenue_daily (network, day);
-- The refresh reads "the days (or the month) that changed" across networks and chains:
-- without an index led by day that is a scan of all history.
create index revenue_daily_day on rollup.revenue_daily (day);

create table rollup.earnings_daily (
    chain      text collate "C" not null,
    day        date not null,
    network    text collate "C" not null,
    token      text collate "C" not null,
    node       text collate "C" not null,
    amount     numeric not null,
    amount_usd numeric,
    payouts    integer not null,
    primary key (chain, day, network, token, node)
);
create index earnings_daily_network_day on rollup.earnings_daily (network, day);
create index earnings_daily_day on rollup.earnings_daily (day);
create index earnings_daily_node on rollup.earnings_daily (network, node, day);

-- First day each node earned in each network (for new_nodes).
create table rollup.node_first_day (
    network   text collate "C" not null,
    node      text collate "C" not null,
    first_day date not null,
    primary key (network, node)
);
create index node_first_day_by_day on rollup.node_first_day (first_day);

-- Per network and day, and per network and month: what the contract views show.
create table rollup.network_daily (
    network          text collate "C" not null,
    day              date not null,
    active_nodes     integer not null,
    new_nodes        integer not null,
    paying_customers integer not null,
    revenue_usd      numeric,
    rewards_usd      numeric,
    primary key (network, day)
);

create table rollup.revenue_monthly (
    network    text collate "C" not null,
    month      date not null,
    token      text collate "C" not null,   -- symbol
    amount     numeric not null,
    amount_usd numeric,
    payments   integer not null,
    payers     integer not null,
    primary key (network, month, token)
);

create table rollup.node_earnings_daily (
    network    text collate "C" not null,
    node       text collate "C" not null,
    day        date not null,
    token      text collate "C" not null,   -- symbol
    amount     numeric not null,
    amount_usd numeric,
    payouts    integer not null,
    primary key (network, node, day, token)
);
create index node_earnings_daily_day on rollup.node_earnings_daily (day);

create table rollup.node_earnings_monthly (
    network    text collate "C" not null,
    node       text collate "C" not null,
    month      date not null,
    token      text collate "C" not null,
    amount     numeric not null,
    amount_usd numeric,
    payouts    integer not null,
    primary key (network, month, node, token)
);
create index node_earnings_monthly_node on rollup.node_earnings_monthly (network, node, month);

create table rollup.network_monthly (
    network          text collate "C" not null,
    month            date not null,
    active_nodes     integer not null,
    node_days_active integer not null,
    paying_customers integer not null,
    revenue_usd      numeric,
    rewards_usd      numeric,
    primary key (network, month)
);

create table rollup.node_profitability_monthly (
    network         text collate "C" not null,
    node            text collate "C" not null,
    month           date not null,
    days_active     integer not null,
    earnings_usd    numeric,
    electricity_usd numeric not null,
    net_usd         numeric,
    primary key (network, month, node)
);
-- Top earners of a month (the API's /v1/nodes, keyset pagination).
create index node_profitability_top on rollup.node_profitability_monthly
    (network, month, earnings_usd desc nulls last, node);

-- ---------------------------------------------------------------------------------------
-- The analytics contract: amounts in whole tokens, exact; *_usd NULL where no price.
-- Rollup values are stored without trailing zeros (trim_scale at refresh time), so the
-- views expose bare columns and the rollup indexes serve their ORDER BY and WHERE.

-- Customer payments per network, month and token symbol.
create view analytics.monthly_revenue as
select network, month, token, amount, amount_usd,
       payments, payers
from rollup.revenue_monthly;

-- What each node earned per day and token.
create view analytics.node_earnings_daily as
select network, node, day, token, amount, amount_usd, payouts
from rollup.node_earnings_daily;

-- What each node earned per month and token.
create view analytics.node_earnings_monthly as
select network, node, month, token, amount, amount_usd, payouts
from rollup.node_earnings_monthly;

-- Per network and day: nodes earning, nodes earning for the first time, customers paying.
create view analytics.network_utilisation_daily as
select network, day, active_nodes, new_nodes, paying_customers,
       revenue_usd, rewards_usd
from rollup.network_daily;

-- Per network and month; utilisation = node_days_active / (active_nodes x days in month),
-- demand_ratio = revenue_usd / rewards_usd (NULL when either is unknown or rewards are 0).
create view analytics.network_utilisation_monthly as
select network, month, active_nodes, node_days_active,
       case when active_nodes > 0 then
           round(node_days_active::numeric
                 / (active_nodes * extract(day from (month + interval '1 month' - interval '1 day'))::numeric), 6)
       end as utilisation,
       paying_customers,
       revenue_usd, rewards_usd,
       case when rewards_usd > 0 then round(revenue_usd / rewards_usd, 6) end as demand_ratio
from rollup.network_monthly;

-- Earnings minus electricity per node and month (core.assumptions: watts x 24 h per day
-- the node earned, at usd_per_kwh; the network's row, else '*').
-- days_active (an extension of the contract): days the node earned in the month.
create view analytics.node_profitability_monthly as
select network, node, month, earnings_usd,
       electricity_usd, net_usd, days_active
from rollup.node_profitability_monthly;

-- Lineage: the flows behind a monthly_revenue or node_earnings_monthly row (analysts may
-- call the analytics functions; they run with the owner's rights, analysts still cannot
-- read core directly). core.lineage serves both: kind 'revenue' or 'reward', and a
-- counterparty (the node) or NULL for all.
create function core.lineage(p_network text, p_month date, p_token text, p_kind text, p_counterparty text)
returns table (chain text, tx text, idx integer, block bigint, block_time timestamptz,
               src text, dst text, amount numeric)
language sql stable
as $$
    select cf.chain, cf.tx, cf.idx, cf.block, cf.block_time, cf.src, cf.dst,
           trim_scale(core.scale_amount(cf.amount, t.decimals))
    from core.tokens t,
         lateral core.classified_flows(
             array(select t.chain::text from generate_series(p_month, (p_month + interval '1 month' - interval '1 day')::date, interval '1 day') g),
             array(select g::date from generate_series(p_month, (p_month + interval '1 month' - interval '1 day')::date, interval '1 day') g)
         ) cf
    where t.symbol = p_token and cf.network = p_network and cf.kind = p_kind and cf.token = t.address
      and (p_counterparty is null or cf.counterparty = p_counterparty)
    order by cf.block_time, cf.tx, cf.idx
$$;

create function analytics.revenue_lineage(p_network text, p_month date, p_token text)
returns table (chain text, tx text, idx integer, block bigint, block_time timestamptz,
               src text, dst text, amount numeric)
language sql stable security definer set search_path = pg_catalog, core
as $$ select * from core.lineage(p_network, p_month, p_token, 'revenue', null) $$;

create function analytics.node_earnings_lineage(p_network text, p_node text, p_month date, p_token text)
returns table (chain text, tx text, idx integer, block bigint, block_time timestamptz,
               src text, dst text, amount numeric)
language sql stable security definer set search_path = pg_catalog, core
as $$ select * from core.lineage(p_network, p_month, p_token, 'reward', p_node) $$;

revoke all on function analytics.revenue_lineage(text, date, text) from public;
revoke all on function analytics.node_earnings_lineage(text, text, date, text) from public;
grant execute on function analytics.revenue_lineage(text, date, text) to depin_reader, depin_analyst;
grant execute on function analytics.node_earnings_lineage(text, text, date, text) to depin_reader, depin_analyst;
grant select on all tables in schema analytics to depin_reader, depin_analyst;

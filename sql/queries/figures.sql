-- Named queries of the incremental refresh (indexer/figures/refresh.py). $1/$2 are the
-- dirty (chain, day) pairs as parallel arrays; $3 the affected days; $4 the months.

-- take_dirty --
-- Inside the refresh transaction: a crash puts the rows back. A row locked by a writer
-- still in flight (it marks with DO UPDATE, which locks) is skipped, not waited for:
-- taking it now would recompute the day without that writer's flows and lose the mark.
-- It stays dirty for the next refresh, and no refresh ever waits on a writer.
with taken as (
    select chain, day from core.dirty_days for update skip locked
)
delete from core.dirty_days d using taken t
where d.chain = t.chain and d.day = t.day
returning d.chain, d.day, d.flows

-- record_refresh_success --
-- Inside the refresh transaction, so a refresh that rolls back leaves it as it was
-- (analytics.freshness: last_refresh).
update core.refresh_status set last_success_at = now(), last_error = null

-- database_now --
-- The database's clock: when a refresh starts, to compare with last_success_at (written
-- by now() too) whatever the skew of the runner's clock.
select now()

-- record_refresh_failure --
-- After a failed refresh rolled back, by whoever ran it (the service, `depin-indexer
-- refresh`): $1 the error (analytics.freshness: last_error; the success time stays as it
-- was, written by the refresh itself), $2 when the failed run started. A refresh that
-- succeeded since (another runner's) is newer news: the failure does not cover it.
update core.refresh_status set last_failure_at = now(), last_error = $1
where last_success_at is null or last_success_at < $2

-- drop_daily_revenue --
delete from rollup.revenue_daily r using unnest($1::text[], $2::date[]) u(c, d)
where r.chain = u.c and r.day = u.d

-- drop_daily_earnings --
delete from rollup.earnings_daily r using unnest($1::text[], $2::date[]) u(c, d)
where r.chain = u.c and r.day = u.d
returning r.network, r.node

-- fill_daily --
with cf as (
    select * from core.classified_flows($1::text[], $2::date[])
), rev as (
    insert into rollup.revenue_daily (chain, day, network, token_address, payer, amount, amount_usd, payments)
    select g.chain, g.day, g.network, g.token, g.payer, trim_scale(g.amount),
           trim_scale(g.amount * core.price_usd(t.symbol, g.day, t.stablecoin)), g.n
    from (select chain, day, network, token, counterparty as payer,
                 sum(amount) as raw, count(*)::int as n
          from cf where kind = 'revenue' group by 1, 2, 3, 4, 5) g0
    join core.tokens t on t.chain = g0.chain and t.address = g0.token
    cross join lateral (select g0.chain, g0.day, g0.network, g0.token, g0.payer,
                               core.scale_amount(g0.raw, t.decimals) as amount, g0.n) g
    returning 1
)
insert into rollup.earnings_daily (chain, day, network, token_address, node, amount, amount_usd, payouts)
select g.chain, g.day, g.network, g.token, g.node, trim_scale(g.amount),
       trim_scale(g.amount * core.price_usd(t.symbol, g.day, t.stablecoin)), g.n
from (select chain, day, network, token, counterparty as node, sum(amount) as raw, count(*)::int as n
      from cf where kind = 'reward' group by 1, 2, 3, 4, 5) g0
join core.tokens t on t.chain = g0.chain and t.address = g0.token
cross join lateral (select g0.chain, g0.day, g0.network, g0.token, g0.node,
                           core.scale_amount(g0.raw, t.decimals) as amount, g0.n) g
returning network, node

-- first_days --
-- For the given nodes: old first day (NULL if none) and new first day (NULL if none left).
select n.network, n.node, f.first_day as old_first,
       (select min(day) from rollup.earnings_daily e where e.network = n.network and e.node = n.node) as new_first
from unnest($1::text[], $2::text[]) as n(network, node)
left join rollup.node_first_day f on f.network = n.network and f.node = n.node

-- set_first_days --
with changes as (
    select * from unnest($1::text[], $2::text[], $3::date[]) as c(network, node, first_day)
), gone as (
    delete from rollup.node_first_day f using changes c
    where f.network = c.network and f.node = c.node and c.first_day is null
)
insert into rollup.node_first_day (network, node, first_day)
select network, node, first_day from changes where first_day is not null
on conflict (network, node) do update set first_day = excluded.first_day

-- drop_network_daily --
delete from rollup.network_daily where day = any($1::date[])

-- fill_network_daily --
-- $1: days. Every network with activity on those days, across its chains.
with e as (
    select network, day, count(distinct node)::int as active_nodes,
           trim_scale(case when count(*) = count(amount_usd) then sum(amount_usd) end) as rewards_usd
    from rollup.earnings_daily where day = any($1::date[]) group by 1, 2
), r as (
    select network, day, count(distinct payer)::int as paying_customers,
           trim_scale(case when count(*) = count(amount_usd) then sum(amount_usd) end) as revenue_usd
    from rollup.revenue_daily where day = any($1::date[]) group by 1, 2
), fresh as (
    select network, first_day as day, count(*)::int as new_nodes
    from rollup.node_first_day where first_day = any($1::date[]) group by 1, 2
)
insert into rollup.network_daily (network, day, active_nodes, new_nodes, paying_customers, revenue_usd, rewards_usd)
select coalesce(e.network, r.network), coalesce(e.day, r.day), coalesce(e.active_nodes, 0),
       coalesce(fresh.new_nodes, 0), coalesce(r.paying_customers, 0),
       case when r.network is null then 0 else r.revenue_usd end,
       case when e.network is null then 0 else e.rewards_usd end
from e full join r on r.network = e.network and r.day = e.day
left join fresh on fresh.network = coalesce(e.network, r.network) and fresh.day = coalesce(e.day, r.day)

-- drop_node_earnings_daily --
delete from rollup.node_earnings_daily where day = any($1::date[])

-- fill_node_earnings_daily --
-- $1: days. Per node, day and token symbol, summed over the network's chains.
insert into rollup.node_earnings_daily (network, node, day, token, amount, amount_usd, payouts)
select e.network, e.node, e.day, t.symbol, trim_scale(sum(e.amount)),
       trim_scale(case when count(*) = count(e.amount_usd) then sum(e.amount_usd) end), sum(e.payouts)::int
from rollup.earnings_daily e join core.tokens t on t.chain = e.chain and t.address = e.token_address
where e.day = any($1::date[])
group by 1, 2, 3, 4

-- drop_monthly --
-- $1: first days of the months to recompute. Four tables, one statement each.
delete from rollup.revenue_monthly where month = any($1::date[])

-- drop_monthly_nodes --
delete from rollup.node_earnings_monthly where month = any($1::date[])

-- drop_monthly_network --
delete from rollup.network_monthly where month = any($1::date[])

-- drop_monthly_profit --
delete from rollup.node_profitability_monthly where month = any($1::date[])

-- fill_monthly --
-- $1: first days of the months to recompute (their rows were dropped just before).
with m as (select unnest($1::date[]) as month),
rev as (
    select r.*, t.symbol, date_trunc('month', r.day)::date as month
    from rollup.revenue_daily r join core.tokens t on t.chain = r.chain and t.address = r.token_address
    where r.day >= (select min(month) from m)
      and r.day < (select max(month) from m) + interval '1 month'
      and date_trunc('month', r.day)::date in (select month from m)
),
earn as (
    select e.*, t.symbol, date_trunc('month', e.day)::date as month
    from rollup.earnings_daily e join core.tokens t on t.chain = e.chain and t.address = e.token_address
    where e.day >= (select min(month) from m)
      and e.day < (select max(month) from m) + interval '1 month'
      and date_trunc('month', e.day)::date in (select month from m)
),
ins_rev as (
    insert into rollup.revenue_monthly (network, month, token, amount, amount_usd, payments, payers)
    select network, month, symbol, trim_scale(sum(amount)),
           trim_scale(case when count(*) = count(amount_usd) then sum(amount_usd) end),
           sum(payments)::int, count(distinct payer)::int
    from rev group by 1, 2, 3
),
ins_node as (
    insert into rollup.node_earnings_monthly (network, node, month, token, amount, amount_usd, payouts)
    select network, node, month, symbol, trim_scale(sum(amount)),
           trim_scale(case when count(*) = count(amount_usd) then sum(amount_usd) end), sum(payouts)::int
    from earn group by 1, 2, 3, 4
),
net_e as (
    select network, month, count(distinct node)::int as active_nodes,
           count(distinct (node, day))::int as node_days_active,
           trim_scale(case when count(*) = count(amount_usd) then sum(amount_usd) end) as rewards_usd
    from earn group by 1, 2
),
net_r as (
    select network, month, count(distinct payer)::int as paying_customers,
           trim_scale(case when count(*) = count(amount_usd) then sum(amount_usd) end) as revenue_usd
    from rev group by 1, 2
),
ins_net as (
    insert into rollup.network_monthly (network, month, active_nodes, node_days_active, paying_customers,
                                        revenue_usd, rewards_usd)
    select coalesce(e.network, r.network), coalesce(e.month, r.month), coalesce(e.active_nodes, 0),
           coalesce(e.node_days_active, 0), coalesce(r.paying_customers, 0),
           case when r.network is null then 0 else r.revenue_usd end,
           case when e.network is null then 0 else e.rewards_usd end
    from net_e e full join net_r r on r.network = e.network and r.month = e.month
    returning 1
)
select count(*) from ins_net

-- fill_monthly_profit --
-- $1: first days of the months whose profitability to recompute (rows dropped before):
-- the recomputed months and their neighbours, since a node's days online in a month
-- depend on whether it was paid in the month before and the month after.
-- Days online (docs/methodology.md, "Profitability"): from the node's first to its last
-- payout in the month, from the month's first day instead if it was paid in the previous
-- month, and to the month's last day (today's, for the month in progress) if it is paid
-- in the next one. Electricity = watts x 24 h x days online / 1000 x usd_per_kwh.
with m as (select unnest($1::date[]) as month),
earn as (
    select e.network, e.node, e.day, e.amount_usd, date_trunc('month', e.day)::date as month
    from rollup.earnings_daily e
    where e.day >= (select min(month) from m)
      and e.day < (select max(month) from m) + interval '1 month'
      and date_trunc('month', e.day)::date in (select month from m)
),
online as (
    select e.network, e.node, e.month, count(distinct e.day)::int as days_active,
           case when count(*) = count(e.amount_usd) then sum(e.amount_usd) end as earnings_usd,
           (case when exists (select 1 from rollup.earnings_daily x
                              where x.network = e.network and x.node = e.node
                                and x.day >= e.month + interval '1 month' and x.day < e.month + interval '2 months')
                 then least((e.month + interval '1 month' - interval '1 day')::date,
                            greatest(max(e.day), (now() at time zone 'UTC')::date))
                 else max(e.day) end)
         - (case when exists (select 1 from rollup.earnings_daily x
                              where x.network = e.network and x.node = e.node
                                and x.day >= e.month - interval '1 month' and x.day < e.month)
                 then e.month
                 else min(e.day) end) + 1 as days_online
    from earn e
    group by e.network, e.node, e.month
)
insert into rollup.node_profitability_monthly (network, node, month, days_active, days_online, earnings_usd,
                                               electricity_usd, net_usd)
select p.network, p.node, p.month, p.days_active, p.days_online, trim_scale(p.earnings_usd),
       trim_scale(p.electricity_usd), trim_scale(p.earnings_usd - p.electricity_usd)
from (
    select o.*, coalesce(a.watts, d.watts) * 24 * o.days_online / 1000
               * coalesce(a.usd_per_kwh, d.usd_per_kwh) as electricity_usd
    from online o
    left join core.assumptions a on a.network = o.network
    cross join (select watts, usd_per_kwh from core.assumptions where network = '*') d
) p

-- mark_every_day --
-- A full recompute (refresh_all, for repairs): every (chain, day) with flows.
select core.mark_dirty(array_agg(chain), array_agg(day), true)
from (select distinct chain, (block_time at time zone 'UTC')::date as day from core.flows) d

-- upsert_prices --
insert into core.prices (day, symbol, usd) values ($1, $2, $3)
on conflict (day, symbol) do update set usd = excluded.usd

-- mark_price_days --
-- $1/$2: the (day, symbol) pairs imported. Every chain with a token of that symbol has
-- its day recomputed, whether or not it had flows that day (a superset is safe).
select core.mark_dirty(array_agg(t.chain), array_agg(p.day), false)
from unnest($1::date[], $2::text[]) p(day, symbol) join core.tokens t on t.symbol = p.symbol

-- 0120_days_online_and_partial_months: two figures that misled.
--
-- 1. Electricity in node profitability counted only the days a node was paid. A node paid
--    weekly draws power every day, so it looked about seven times too profitable. It now
--    counts the days the node was online, estimated from its payouts (docs/methodology.md,
--    "Profitability", with a worked example): from its first to its last payout in the
--    month, extended back to the month's first day if it was also paid in the previous
--    month, and on to the month's last day (today's, for the month in progress) if it is
--    paid in the next month. rollup.node_profitability_monthly.days_online holds it;
--    days_active (days with a payout) stays.
-- 2. Utilisation divided a month in progress by all its days, so it read low. It now
--    divides by the days elapsed (UTC), and `partial` marks such a month.

alter table rollup.node_profitability_monthly add column days_online integer;

create or replace view analytics.node_profitability_monthly as
select network, node, month, earnings_usd,
       electricity_usd, net_usd, days_active, days_online
from rollup.node_profitability_monthly;

create or replace view analytics.network_utilisation_monthly as
select n.network, n.month, n.active_nodes, n.node_days_active,
       case when n.active_nodes > 0 then
           round(n.node_days_active::numeric / (n.active_nodes * p.days)::numeric, 6)
       end as utilisation,
       n.paying_customers,
       n.revenue_usd, n.rewards_usd,
       case when n.rewards_usd > 0 then round(n.revenue_usd / n.rewards_usd, 6) end as demand_ratio,
       p.partial
from rollup.network_monthly n,
     -- Days of the month counted so far (UTC): all of them for a past month, those up to
     -- today for the month in progress, which is `partial`. Inline, not a function in
     -- core: readers of a view need the right to call every function it calls.
     lateral (
         select least(extract(day from (n.month + interval '1 month' - interval '1 day'))::int,
                      greatest(1, (now() at time zone 'UTC')::date - n.month + 1)) as days,
                n.month + interval '1 month' > (now() at time zone 'UTC')::date as partial
     ) p;

-- Every month with earnings is recomputed under the new rule by the next refresh.
select core.mark_dirty(array_agg(chain), array_agg(day)) from (
    select distinct on (chain, date_trunc('month', day)) chain, day from rollup.earnings_daily
    order by chain, date_trunc('month', day), day
) d;

-- Named queries of the demo's summary (indexer/demo/runner.py): what an analyst would ask
-- of the analytics views first.

-- revenue --
select network, month, token, amount, amount_usd, payments, payers
from analytics.monthly_revenue
order by network, month, token

-- top_nodes --
-- The five best earners of each network's latest month.
select p.network, p.month, p.node, p.earnings_usd, p.days_active
from (select network, max(month) as month from analytics.network_utilisation_monthly group by network) l,
lateral (
    select * from analytics.node_profitability_monthly q
    where q.network = l.network and q.month = l.month
    order by q.earnings_usd desc nulls last, q.node
    limit 5
) p
order by p.network, p.earnings_usd desc nulls last, p.node

-- utilisation --
select network, month, active_nodes, node_days_active, utilisation, paying_customers, revenue_usd,
       rewards_usd, demand_ratio
from analytics.network_utilisation_monthly
order by network, month

-- profitability --
select network, month, count(*) as nodes, count(*) filter (where net_usd > 0) as profitable,
       round(avg(net_usd), 2) as average_net_usd
from analytics.node_profitability_monthly
group by network, month
order by network, month

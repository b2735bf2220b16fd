-- Named queries of the JSON API (loaded by indexer.store.sqlfiles.queries("api")).
-- Every query reads the analytics schema only: the API connects as depin_reader.

-- networks --
select n.network, n.chains,
       least(r.first_month, e.first_month) as first_month,
       greatest(r.last_month, e.last_month) as last_month
from analytics.networks n
left join (select network, min(month) as first_month, max(month) as last_month
           from analytics.monthly_revenue group by network) r on r.network = n.network
left join (select network, min(month) as first_month, max(month) as last_month
           from analytics.node_earnings_monthly group by network) e on e.network = n.network
order by n.network

-- network_names --
select network from analytics.networks

-- revenue_monthly --
select network, month, token, amount, amount_usd, payments, payers
from analytics.monthly_revenue
where network = $1 and month >= $2 and month <= $3
order by month, token

-- top_nodes_first_page --
select node, earnings_usd, electricity_usd, net_usd
from analytics.node_profitability_monthly
where network = $1 and month = $2
order by earnings_usd desc nulls last, node
limit $3

-- top_nodes_after_usd --
-- Keyset continuation after a node with a known USD figure.
select node, earnings_usd, electricity_usd, net_usd
from analytics.node_profitability_monthly
where network = $1 and month = $2
  and (earnings_usd < $3 or (earnings_usd = $3 and node > $4) or earnings_usd is null)
order by earnings_usd desc nulls last, node
limit $5

-- top_nodes_after_null --
-- Keyset continuation inside the tail of nodes without a USD figure.
select node, earnings_usd, electricity_usd, net_usd
from analytics.node_profitability_monthly
where network = $1 and month = $2 and earnings_usd is null and node > $3
order by node
limit $4

-- node_tokens_monthly --
select node, token, amount, amount_usd, payouts
from analytics.node_earnings_monthly
where network = $1 and month = $2 and node = any($3::text[])
order by node, token

-- node_earnings_daily --
select day as period, token, amount, amount_usd, payouts
from analytics.node_earnings_daily
where network = $1 and node = $2
order by day, token

-- node_earnings_monthly --
select month as period, token, amount, amount_usd, payouts
from analytics.node_earnings_monthly
where network = $1 and node = $2
order by month, token

-- utilisation_daily --
select network, day as period, active_nodes, new_nodes, paying_customers, revenue_usd, rewards_usd
from analytics.network_utilisation_daily
where network = $1
order by day

-- utilisation_monthly --
select network, month as period, active_nodes, node_days_active, utilisation, paying_customers,
       revenue_usd, rewards_usd, demand_ratio
from analytics.network_utilisation_monthly
where network = $1
order by month

-- indexing_status --
select chain, indexed_block, head, lag_blocks,
       extract(epoch from now() - last_update)::float8 as seconds_since_update
from analytics.indexing_status
order by chain

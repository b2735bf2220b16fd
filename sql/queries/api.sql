-- Named queries of the JSON API (loaded by indexer.store.sqlfiles.queries("api")).
-- Every query reads the analytics schema only (the API connects as depin_reader), but
-- for the transaction control of an export at the end.

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
-- Rendered as JSON by Postgres: one text value, no per-row work in Python. Amounts are
-- cast to text so they stay exact decimal strings.
select coalesce(json_agg(json_build_object(
           'network', network, 'month', month::text, 'token', token, 'amount', amount::text,
           'amount_usd', amount_usd::text, 'payments', payments, 'payers', payers)
         order by month, token), '[]')::text
from analytics.monthly_revenue
where network = $1 and month >= $2 and month <= $3

-- Pages of /v1/nodes: the keyset columns for the cursor, and each node rendered as JSON
-- (with its tokens) by Postgres, so a page costs one query.

-- top_nodes_first_page --
select p.node, p.earnings_usd, json_build_object(
           'node', p.node, 'earnings_usd', p.earnings_usd::text, 'electricity_usd', p.electricity_usd::text,
           'net_usd', p.net_usd::text,
           'tokens', (select coalesce(json_agg(json_build_object(
                                'token', e.token, 'amount', e.amount::text, 'amount_usd', e.amount_usd::text,
                                'payouts', e.payouts) order by e.token), '[]')
                      from analytics.node_earnings_monthly e
                      where e.network = p.network and e.month = p.month and e.node = p.node))::text as doc
from analytics.node_profitability_monthly p
where p.network = $1 and p.month = $2
order by p.earnings_usd desc nulls last, p.node
limit $3

-- top_nodes_after_usd --
-- Keyset continuation after a node with a known USD figure.
select p.node, p.earnings_usd, json_build_object(
           'node', p.node, 'earnings_usd', p.earnings_usd::text, 'electricity_usd', p.electricity_usd::text,
           'net_usd', p.net_usd::text,
           'tokens', (select coalesce(json_agg(json_build_object(
                                'token', e.token, 'amount', e.amount::text, 'amount_usd', e.amount_usd::text,
                                'payouts', e.payouts) order by e.token), '[]')
                      from analytics.node_earnings_monthly e
                      where e.network = p.network and e.month = p.month and e.node = p.node))::text as doc
from analytics.node_profitability_monthly p
where p.network = $1 and p.month = $2
  and (p.earnings_usd < $3 or (p.earnings_usd = $3 and p.node > $4) or p.earnings_usd is null)
order by p.earnings_usd desc nulls last, p.node
limit $5

-- top_nodes_after_null --
-- Keyset continuation inside the tail of nodes without a USD figure.
select p.node, p.earnings_usd, json_build_object(
           'node', p.node, 'earnings_usd', p.earnings_usd::text, 'electricity_usd', p.electricity_usd::text,
           'net_usd', p.net_usd::text,
           'tokens', (select coalesce(json_agg(json_build_object(
                                'token', e.token, 'amount', e.amount::text, 'amount_usd', e.amount_usd::text,
                                'payouts', e.payouts) order by e.token), '[]')
                      from analytics.node_earnings_monthly e
                      where e.network = p.network and e.month = p.month and e.node = p.node))::text as doc
from analytics.node_profitability_monthly p
where p.network = $1 and p.month = $2 and p.earnings_usd is null and p.node > $3
order by p.node
limit $4

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
       revenue_usd, rewards_usd, demand_ratio, partial
from analytics.network_utilisation_monthly
where network = $1
order by month

-- indexing_status --
-- With each chain's freshness (analytics.freshness): when the figures were last
-- refreshed and how many of its days wait for a refresh.
select i.chain, i.indexed_block, i.head, i.lag_blocks,
       extract(epoch from now() - i.last_update)::float8 as seconds_since_update,
       extract(epoch from now() - i.verified_at)::float8 as seconds_since_verify,
       i.verify_mismatches, i.undecodable_transactions,
       extract(epoch from now() - f.last_refresh)::float8 as seconds_since_refresh,
       coalesce(f.dirty_days, 0) as dirty_days
from analytics.indexing_status i
left join analytics.freshness f on f.chain = i.chain
order by i.chain

-- freshness --
select chain, indexed_block, indexed_time, last_refresh, dirty_days, dirty_since, last_error
from analytics.freshness
order by chain

-- assumptions --
-- The '*' row first: the default, then each network's own.
select network, watts, usd_per_kwh
from analytics.assumptions
order by network <> '*', network

-- export_monthly_revenue --
-- Exports: one query a view, so that no statement is built from the URL (the views are
-- the EXPORTABLE list of indexer/api/routes/export.py).
select * from analytics.monthly_revenue

-- export_node_earnings_daily --
select * from analytics.node_earnings_daily

-- export_node_earnings_monthly --
select * from analytics.node_earnings_monthly

-- export_network_utilisation_daily --
select * from analytics.network_utilisation_daily

-- export_network_utilisation_monthly --
select * from analytics.network_utilisation_monthly

-- export_node_profitability_monthly --
select * from analytics.node_profitability_monthly

-- export_without_timeout --
-- An export may take longer than an ordinary query; `local`: for its transaction only.
set local statement_timeout = 0

-- end_open_transaction --
-- Ends the transaction an interrupted export left open, before the connection is reused.
rollback

-- analytics_views_missing --
-- Checked by `depin-indexer api` before serving: true when nothing was migrated.
select to_regclass('analytics.monthly_revenue') is null

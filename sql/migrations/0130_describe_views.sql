-- 0130_describe_views: every analytics view and column says what it holds, so `\d+` in
-- psql and any BI tool show the methodology (docs/methodology.md has the long form).
-- Conventions: amounts are whole tokens, exact (decimals applied, never floats); *_usd
-- are US dollars at the day's price, NULL where no price is known for some day of the
-- period; day and month are UTC dates (month: its first day); token is the symbol.

comment on view analytics.monthly_revenue is
    'Customer payments per network, UTC month and token: tokens received by a revenue-labelled address from outside the network''s own labelled addresses, plus burns of a burn_revenue token (not by the network''s own addresses).';
comment on column analytics.monthly_revenue.network is 'Network, as named by the labels (io.net, render, aioz, ...).';
comment on column analytics.monthly_revenue.month is 'UTC month, as its first day.';
comment on column analytics.monthly_revenue.token is 'Token symbol (core.tokens), not its address.';
comment on column analytics.monthly_revenue.amount is 'Tokens paid, in whole tokens, exact.';
comment on column analytics.monthly_revenue.amount_usd is 'USD at each day''s price; NULL when any day of the month has no price for the token.';
comment on column analytics.monthly_revenue.payments is 'Number of payment flows.';
comment on column analytics.monthly_revenue.payers is 'Distinct paying addresses (owners, not token accounts).';

comment on view analytics.node_earnings_daily is
    'What each node earned per UTC day and token: tokens sent by a rewards-labelled address to an unlabelled one (the node), plus mints of a mint_rewards token to it.';
comment on column analytics.node_earnings_daily.network is 'Network, as named by the labels.';
comment on column analytics.node_earnings_daily.node is 'The receiving address (an owner wallet).';
comment on column analytics.node_earnings_daily.day is 'UTC day.';
comment on column analytics.node_earnings_daily.token is 'Token symbol.';
comment on column analytics.node_earnings_daily.amount is 'Tokens earned, in whole tokens, exact.';
comment on column analytics.node_earnings_daily.amount_usd is 'USD at the day''s price; NULL when the day has no price for the token.';
comment on column analytics.node_earnings_daily.payouts is 'Number of payout flows.';

comment on view analytics.node_earnings_monthly is
    'What each node earned per UTC month and token (node_earnings_daily summed over the month).';
comment on column analytics.node_earnings_monthly.network is 'Network, as named by the labels.';
comment on column analytics.node_earnings_monthly.node is 'The receiving address (an owner wallet).';
comment on column analytics.node_earnings_monthly.month is 'UTC month, as its first day.';
comment on column analytics.node_earnings_monthly.token is 'Token symbol.';
comment on column analytics.node_earnings_monthly.amount is 'Tokens earned, in whole tokens, exact.';
comment on column analytics.node_earnings_monthly.amount_usd is 'USD at each day''s price; NULL when any day of the month has no price for the token.';
comment on column analytics.node_earnings_monthly.payouts is 'Number of payout flows.';

comment on view analytics.network_utilisation_daily is
    'Per network and UTC day: nodes earning, nodes earning for the first time, customers paying, revenue and rewards in USD.';
comment on column analytics.network_utilisation_daily.network is 'Network, as named by the labels.';
comment on column analytics.network_utilisation_daily.day is 'UTC day.';
comment on column analytics.network_utilisation_daily.active_nodes is 'Distinct nodes with at least one earning that day.';
comment on column analytics.network_utilisation_daily.new_nodes is 'Nodes whose first earning ever in this network is that day.';
comment on column analytics.network_utilisation_daily.paying_customers is 'Distinct payers that day.';
comment on column analytics.network_utilisation_daily.revenue_usd is 'Revenue in USD; NULL when some payment of the day has no price.';
comment on column analytics.network_utilisation_daily.rewards_usd is 'Node earnings in USD; NULL when some payout of the day has no price.';

comment on view analytics.network_utilisation_monthly is
    'Per network and UTC month: how many nodes earned, how regularly, and whether customers pay more than the network emits.';
comment on column analytics.network_utilisation_monthly.network is 'Network, as named by the labels.';
comment on column analytics.network_utilisation_monthly.month is 'UTC month, as its first day.';
comment on column analytics.network_utilisation_monthly.active_nodes is 'Distinct nodes with at least one earning in the month.';
comment on column analytics.network_utilisation_monthly.node_days_active is 'Distinct (node, day) pairs with an earning.';
comment on column analytics.network_utilisation_monthly.utilisation is 'node_days_active / (active_nodes x days counted), 6 decimals: 1 = every active node earned every day. Days counted: the whole month, or the days elapsed (UTC) of the month in progress.';
comment on column analytics.network_utilisation_monthly.paying_customers is 'Distinct payers in the month.';
comment on column analytics.network_utilisation_monthly.revenue_usd is 'Revenue in USD; NULL when some payment of the month has no price.';
comment on column analytics.network_utilisation_monthly.rewards_usd is 'Node earnings in USD; NULL when some payout of the month has no price.';
comment on column analytics.network_utilisation_monthly.demand_ratio is 'revenue_usd / rewards_usd, 6 decimals; above 1 customers pay more than nodes earn; NULL when either is unknown or rewards are 0.';
comment on column analytics.network_utilisation_monthly.partial is 'True for the month in progress (UTC): its figures cover the days elapsed only.';

comment on view analytics.node_profitability_monthly is
    'Per node and UTC month: earnings minus electricity (core.assumptions: watts x 24 h x days online / 1000 x USD per kWh; the network''s row, else ''*''). Cooling, hardware and staking are not counted: an upper bound on margin.';
comment on column analytics.node_profitability_monthly.network is 'Network, as named by the labels.';
comment on column analytics.node_profitability_monthly.node is 'The earning address (an owner wallet).';
comment on column analytics.node_profitability_monthly.month is 'UTC month, as its first day.';
comment on column analytics.node_profitability_monthly.earnings_usd is 'Earnings in USD, all tokens; NULL when some payout has no price.';
comment on column analytics.node_profitability_monthly.electricity_usd is 'Electricity in USD over days_online at the assumptions.';
comment on column analytics.node_profitability_monthly.net_usd is 'earnings_usd - electricity_usd; NULL when earnings_usd is.';
comment on column analytics.node_profitability_monthly.days_active is 'Days of the month with a payout.';
comment on column analytics.node_profitability_monthly.days_online is 'Estimated days online: first to last payout of the month, from the month''s first day if paid the month before, to its last day if paid the month after.';

comment on view analytics.networks is 'Networks named by the labels, and the chains where each has labelled addresses.';
comment on column analytics.networks.network is 'Network, as named by the labels.';
comment on column analytics.networks.chains is 'Configured chain names where the network has labelled addresses.';

comment on view analytics.indexing_status is
    'Per chain: how far indexing has got, the head the service last saw, and what its scheduled verify and the decoder found.';
comment on column analytics.indexing_status.chain is 'Configured chain name.';
comment on column analytics.indexing_status.indexed_block is 'Block (EVM) or slot (Solana) everything is indexed up to.';
comment on column analytics.indexing_status.head is 'The chain head the service saw last.';
comment on column analytics.indexing_status.lag_blocks is 'head - indexed_block; NULL until the service has seen the head.';
comment on column analytics.indexing_status.last_update is 'When the cursor last moved or the last ingest succeeded.';
comment on column analytics.indexing_status.last_error is 'The last ingest error, NULL after a success.';
comment on column analytics.indexing_status.verified_at is 'When the last scheduled verify ended; NULL: never.';
comment on column analytics.indexing_status.verify_mismatches is 'What that verify found wrong (0: all agreed).';
comment on column analytics.indexing_status.verify_error is 'Why the last scheduled verify could not run, if it failed.';
comment on column analytics.indexing_status.undecodable_transactions is 'Transactions recorded as undecodable (on_undecodable = "record"): their flows are left out.';

comment on view analytics.undecodable_transactions is
    'Solana transactions the decoder refused and the config chose to record (on_undecodable = "record"): none of their flows is stored.';
comment on column analytics.undecodable_transactions.chain is 'Configured chain name.';
comment on column analytics.undecodable_transactions.signature is 'Transaction signature (base58).';
comment on column analytics.undecodable_transactions.slot is 'Slot of the transaction.';
comment on column analytics.undecodable_transactions.reason is 'Why the decoder refused it.';
comment on column analytics.undecodable_transactions.recorded_at is 'When it was recorded.';

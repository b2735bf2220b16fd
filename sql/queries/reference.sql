-- Named queries of the reference sync (indexer/figures/reference.py): core.tokens,
-- core.labels and core.assumptions mirror the config file. Replacing a row marks dirty
-- exactly the days whose figures it can change, in the same transaction.

-- tokens --
select chain, address, symbol, decimals, stablecoin from core.tokens

-- delete_tokens --
delete from core.tokens

-- insert_token --
insert into core.tokens (chain, address, symbol, decimals, stablecoin) values ($1, $2, $3, $4, $5)

-- labels --
select network, chain, address, role, name, valid_from, valid_to from core.labels

-- delete_labels --
delete from core.labels

-- insert_label --
insert into core.labels (network, chain, address, role, name, valid_from, valid_to)
values ($1, $2, $3, $4, $5, $6, $7)

-- assumptions --
select network, watts, usd_per_kwh from core.assumptions

-- delete_assumptions --
delete from core.assumptions

-- insert_assumption --
insert into core.assumptions (network, watts, usd_per_kwh) values ($1, $2, $3)

-- mark_earning_months --
-- Profitability is monthly: one dirty day per (chain, month) with earnings makes the
-- refresh recompute every month that has any.
select core.mark_dirty(array_agg(chain), array_agg(day), false) from (
    select distinct on (chain, date_trunc('month', day)) chain, day from rollup.earnings_daily
    order by chain, date_trunc('month', day), day
) d

-- mark_token_days --
-- Days with any flow of token $2 on chain $1 (its symbol or decimals changed).
select core.mark_dirty(array_agg(chain), array_agg(day), false) from (
    select distinct chain, (block_time at time zone 'UTC')::date as day
    from core.flows where chain = $1 and token = $2
) d

-- mark_mint_and_burn_days --
-- Days with mints or burns of token $2 (a burn_revenue or mint_rewards label changed).
select core.mark_dirty(array_agg(chain), array_agg(day), false) from (
    select distinct chain, (block_time at time zone 'UTC')::date as day
    from core.flows where chain = $1 and token = $2 and (src is null or dst is null)
) d

-- mark_address_days --
-- Days with a flow to or from address $2 (a revenue or rewards label changed).
select core.mark_dirty(array_agg(chain), array_agg(day), false) from (
    select distinct chain, (block_time at time zone 'UTC')::date as day
    from core.flows where chain = $1 and (src = $2 or dst = $2)
) d

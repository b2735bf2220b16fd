-- 0040_burns_by_own_wallets: a burn by one of the network's own addresses is not revenue.
--
-- A revenue wallet that burns what customers paid it (buy-back-and-burn, or a payment
-- processor that burns on receipt) had that money counted once already, when it arrived;
-- counting the burn as well counted it twice. Tokens a network burns from its treasury or
-- emissions were never a customer's. So a burn counts under burn_revenue only when the
-- burner is outside the network, like a payment under revenue (docs/methodology.md).

-- What every flow of a set of (chain, day) pairs means, one row per (network, role):
-- kind 'revenue' (counterparty = payer) or 'reward' (counterparty = node).
-- Rules (docs/methodology.md):
--   revenue      dst labelled revenue for N, src not NULL and not one of N's own addresses
--   rewards      src labelled rewards for N, dst not NULL and not one of N's own addresses
--   burn_revenue token labelled for N, dst NULL (a burn), src not one of N's own addresses:
--                revenue, payer = src
--   mint_rewards token labelled for N, src NULL (a mint), dst not one of N's addresses: reward
-- "N's own addresses" are the addresses with any label of N on that chain, valid that day.
create or replace function core.classified_flows(p_chains text[], p_days date[])
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
  and not exists (select 1 from core.labels o where o.chain = f.chain and o.address = f.src
                  and o.network = l.network and core.label_valid(o, f.day))
union
select l.network, 'reward', f.chain, f.day, f.tx, f.idx, f.block, f.block_time, f.token, f.src, f.dst, f.dst, f.amount
from f join core.labels l on l.chain = f.chain and l.address = f.token and l.role = 'mint_rewards'
where f.src is null and f.dst is not null and core.label_valid(l, f.day)
  and not exists (select 1 from core.labels o where o.chain = f.chain and o.address = f.dst
                  and o.network = l.network and core.label_valid(o, f.day))
$$;

-- The figures of every day with a burn change under the new rule: recompute them.
insert into core.dirty_days (chain, day)
select distinct chain, (block_time at time zone 'UTC')::date from core.flows where dst is null
on conflict (chain, day) do update set marked_at = now();

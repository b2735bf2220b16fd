-- Named queries of verify (indexer/verify/*): what is stored, to compare with the chain.

-- net_flow --
-- Net indexed flow of token $2 into address $3 of chain $1 in blocks $4+1..$5.
select coalesce(sum(case when dst = $3 then amount else 0 end), 0)
     - coalesce(sum(case when src = $3 then amount else 0 end), 0)
from core.flows
where chain = $1 and token = $2 and block > $4 and block <= $5 and (src = $3 or dst = $3)

-- flows_of_transactions --
select tx, idx, block, extract(epoch from block_time)::bigint as t, token, src, dst, amount
from core.flows where chain = $1 and tx = any($2::text[])

-- stored_transactions --
-- Every stored transaction of chain $1 up to slot $2, with its slot and flow count.
select tx, min(block) as slot, count(*) as n from core.flows
where chain = $1 and block <= $2 group by tx

-- undecodable_signatures --
-- Transactions of chain $1 recorded as undecodable: verify lists them, never re-decodes them.
select signature from core.undecodable_transactions where chain = $1

-- 0090_undecodable_transactions: Solana transactions the decoder refused, kept instead of
-- stopping the chain when its config says on_undecodable = "record". None of their flows
-- are stored (an answer that failed the balance check is never trusted in part), so every
-- row here is a hole in the figures: verify, /readyz and the service's metrics show the
-- count. Written by the writer in the same transaction as the page's flows and cursors.
--
-- Like every core table, it is the indexer's alone (schema core is revoked from public);
-- the read-only roles see the count through analytics.indexing_status and the list,
-- without the raw answers, through analytics.undecodable_transactions.
create table core.undecodable_transactions (
    chain       text collate "C" not null,
    signature   text collate "C" not null,
    slot        bigint           not null,
    reason      text             not null,  -- the decoder's message: why it was refused
    answer      jsonb            not null,  -- the getTransaction result as the endpoint sent it
    recorded_at timestamptz      not null default now(),
    primary key (chain, signature)
);

create view analytics.undecodable_transactions as
select chain, signature, slot, reason, recorded_at
from core.undecodable_transactions;

-- The same view with the count appended (create or replace keeps its grants and column
-- order). A chain that so far only recorded undecodable transactions still gets a row.
create or replace view analytics.indexing_status as
select coalesce(c.chain, s.chain, u.chain)                as chain,
       c.block                                            as indexed_block,
       s.head,
       s.head - c.block                                   as lag_blocks,
       greatest(c.updated_at, s.last_success_at)          as last_update,
       s.last_error,
       s.verified_at,
       s.verify_mismatches,
       s.verify_error,
       coalesce(u.n, 0)                                   as undecodable_transactions
from (select * from core.cursors where source = '') c
full join core.chain_status s on s.chain = c.chain
full join (select chain, count(*) as n from core.undecodable_transactions group by chain) u
    on u.chain = coalesce(c.chain, s.chain);

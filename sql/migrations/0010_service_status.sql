-- 0010_service_status: what the service knows about each chain, and the read-only views
-- the API needs beyond the analytics contract (networks, indexing status).

-- Written by the service after each ingest: the head it saw and when it last succeeded.
create table core.chain_status (
    chain           text collate "C" primary key,
    head            bigint,
    final_head      bigint,
    observed_at     timestamptz,
    last_success_at timestamptz,
    last_error      text
);

-- Indexing progress per chain: the chain-wide cursor (source '') against the last head
-- the service saw. lag_blocks is NULL until the service has looked at the head.
create view analytics.indexing_status as
select coalesce(c.chain, s.chain)                         as chain,
       c.block                                            as indexed_block,
       s.head,
       s.head - c.block                                   as lag_blocks,
       greatest(c.updated_at, s.last_success_at)          as last_update,
       s.last_error
from (select * from core.cursors where source = '') c
full join core.chain_status s on s.chain = c.chain;

-- Networks are whatever the labels name; chains where each network has labelled addresses.
create view analytics.networks as
select network, array_agg(distinct chain order by chain) as chains
from core.labels
group by network;

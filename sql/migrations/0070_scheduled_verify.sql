-- 0070_scheduled_verify: the service verifies each chain on a schedule
-- ([service] verify_interval) and keeps the outcome beside the chain's ingest status,
-- where /readyz and analysts read it.

alter table core.chain_status
    add column verified_at       timestamptz,  -- when the last scheduled verify ended
    add column verify_mismatches integer,      -- what it found wrong (0: all agreed)
    add column verify_error      text;         -- why it could not run, if it failed

-- The same view with the verify outcome appended (create or replace keeps its grants).
create or replace view analytics.indexing_status as
select coalesce(c.chain, s.chain)                         as chain,
       c.block                                            as indexed_block,
       s.head,
       s.head - c.block                                   as lag_blocks,
       greatest(c.updated_at, s.last_success_at)          as last_update,
       s.last_error,
       s.verified_at,
       s.verify_mismatches,
       s.verify_error
from (select * from core.cursors where source = '') c
full join core.chain_status s on s.chain = c.chain;

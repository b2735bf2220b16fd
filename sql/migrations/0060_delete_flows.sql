-- 0060_delete_flows: the one way flows leave core.flows.
--
-- A reorg (everything above a fork), a repair (a block range, or some transactions) and a
-- dropped Solana fork (transactions in the slot they were stored at) all delete through
-- this function, which marks the deleted flows' days dirty (core.mark_dirty) in the same
-- transaction, so the next refresh recomputes exactly those days.
--
-- p_first..p_last (blocks or slots) and p_since..p_until (block times) bound the delete,
-- inclusive; the time bound lets Postgres touch only the partitions concerned. With
-- p_txs, only those transactions go; with p_slots as well (same length as p_txs), each
-- only where it sits at that slot. Each case is its own statement, not one statement
-- with "p_txs is null or …", so that each keeps a plan that uses the primary key.
-- Returns the number of flows deleted.
create function core.delete_flows(
    p_chain text,
    p_first bigint,
    p_last bigint,
    p_since timestamptz,
    p_until timestamptz,
    p_txs text[] default null,
    p_slots bigint[] default null
) returns bigint
language plpgsql volatile
as $$
declare
    deleted bigint;
    days date[];
begin
    if p_txs is null then
        with gone as (
            delete from core.flows f
            where f.chain = p_chain and f.block between p_first and p_last
              and f.block_time between p_since and p_until
            returning f.block_time
        )
        select count(*), array_agg(distinct (block_time at time zone 'UTC')::date) into deleted, days from gone;
    elsif p_slots is null then
        with gone as (
            delete from core.flows f
            where f.chain = p_chain and f.tx = any(p_txs) and f.block between p_first and p_last
              and f.block_time between p_since and p_until
            returning f.block_time
        )
        select count(*), array_agg(distinct (block_time at time zone 'UTC')::date) into deleted, days from gone;
    else
        with gone as (
            delete from core.flows f
            using unnest(p_txs, p_slots) as t(tx, slot)
            where f.chain = p_chain and f.tx = t.tx and f.block = t.slot
              and f.block between p_first and p_last and f.block_time between p_since and p_until
            returning f.block_time
        )
        select count(*), array_agg(distinct (block_time at time zone 'UTC')::date) into deleted, days from gone;
    end if;
    if days is not null then
        perform core.mark_dirty(array_fill(p_chain, array[cardinality(days)]), days);
    end if;
    return deleted;
end
$$;

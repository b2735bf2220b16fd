-- Named queries of the writer, the cursors and the locks (indexer/store/*). Every write of
-- flows, block hashes and cursors goes through indexer/store/writer.py, one transaction
-- per batch.

-- create_staging --
-- Text amounts and epoch seconds: cheap for the client to encode, exact, and cast by
-- the server in C (see FlowColumns.rows). Emptied at every commit.
create temporary table if not exists flows_staging (
    block bigint, block_time bigint, tx text, idx integer,
    token text, src text, dst text, amount text
) on commit delete rows

-- move_flows --
-- Speculative insertion (ON CONFLICT) costs a third of the insert rate, and a batch
-- rarely holds rows we already have (a replay after a crash, a Solana transaction reached
-- through two addresses). So the writer runs this plain INSERT under a savepoint, and
-- only if a duplicate exists, move_flows_skipping_duplicates.
insert into core.flows (chain, block, block_time, tx, idx, token, src, dst, amount)
select $1, block, to_timestamp(block_time), tx, idx, token, src, dst, amount::numeric(78,0)
from flows_staging

-- move_flows_skipping_duplicates --
insert into core.flows (chain, block, block_time, tx, idx, token, src, dst, amount)
select $1, block, to_timestamp(block_time), tx, idx, token, src, dst, amount::numeric(78,0)
from flows_staging
on conflict do nothing

-- mark_days_dirty --
-- $2: the days of chain $1 the batch touched. core.mark_dirty locks an existing mark until
-- the batch commits, so a refresh running meanwhile skips it instead of recomputing the
-- day without this batch's flows (sql/migrations/0050_mark_dirty.sql). The flag: the
-- day's flows changed, so its discover rollups are recomputed too (0150).
select core.mark_dirty(array_agg($1::text), array_agg(d), true) from unnest($2::date[]) as d

-- note_newest_flow --
-- $2: the newest block time of the batch's flows (Unix seconds); only ever moves forward
-- (analytics.freshness: indexed_time).
insert into core.chain_progress as p (chain, newest_flow_at) values ($1, to_timestamp($2))
on conflict (chain) do update set newest_flow_at = greatest(p.newest_flow_at, excluded.newest_flow_at)

-- upsert_blocks --
-- (number, hash, parent hash, Unix time) of unfinalised blocks, for reorg detection.
insert into core.blocks (chain, number, hash, parent_hash, block_time)
select $1, n, h, p, to_timestamp(t)
from unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[]) as b(n, h, p, t)
on conflict (chain, number) do update
    set hash = excluded.hash, parent_hash = excluded.parent_hash, block_time = excluded.block_time

-- forget_blocks_below --
-- Blocks under $2 are final: their hashes are no longer needed to detect a reorg.
delete from core.blocks where chain = $1 and number < $2

-- upsert_unfinalised --
-- Solana transactions stored before they were finalized, re-checked on later runs.
insert into core.unfinalised_transactions (chain, signature, slot)
select $1, s, n from unnest($2::text[], $3::bigint[]) as u(s, n)
on conflict (chain, signature) do update set slot = excluded.slot

-- record_undecodable --
-- Solana transactions the decoder refused (on_undecodable = "record"): ($2 signature, $3
-- slot, $4 reason, $5 the raw getTransaction answer as JSON text). Seen again (a rerun
-- after a crash, another address listing it), the latest answer and reason are kept.
insert into core.undecodable_transactions as u (chain, signature, slot, reason, answer)
select $1, s, n, r, a::jsonb from unnest($2::text[], $3::bigint[], $4::text[], $5::text[]) as x(s, n, r, a)
on conflict (chain, signature) do update
    set slot = excluded.slot, reason = excluded.reason, answer = excluded.answer, recorded_at = now()

-- advance_cursor --
-- Returns NULL (and changes nothing) when the cursor is already past $3: another writer
-- advanced it meanwhile, and the batch must not move it back.
insert into core.cursors as c (chain, source, block, ref, updated_at)
values ($1, $2, $3, $4, now())
on conflict (chain, source) do update
    set block = excluded.block, ref = excluded.ref, updated_at = now()
    where c.block <= excluded.block
returning block

-- read_cursor --
select block, ref from core.cursors where chain = $1 and source = $2

-- ensure_partitions --
select core.ensure_flow_partitions($1, $2)

-- delete_flows --
-- Blocks $2..$3 and times $4..$5 (inclusive); $6 transactions (NULL: all of the range);
-- $7 their slots (NULL: any). Marks the days dirty (sql/migrations/0060_delete_flows.sql).
select core.delete_flows($1, $2, $3, $4, $5, $6::text[], $7::bigint[])

-- first_block_time_above --
-- Block times never decrease along a chain, so the first stored block above a fork
-- bounds by time the flows a rewind deletes: only recent partitions are touched.
select min(block_time) from core.blocks where chain = $1 and number > $2

-- delete_blocks_above --
delete from core.blocks where chain = $1 and number > $2

-- rewind_cursors --
update core.cursors set block = $2, ref = null, updated_at = now() where chain = $1 and block > $2

-- rewind_newest_flow --
-- After a rewind to block $2: nothing left is newer than that block, when it is stored
-- (least() ignores the NULL of a block not stored: then the time stays as it was).
update core.chain_progress
set newest_flow_at = least(newest_flow_at,
                           (select max(block_time) from core.blocks where chain = $1 and number <= $2))
where chain = $1

-- forget_unfinalised --
delete from core.unfinalised_transactions where chain = $1 and signature = any($2::text[])

-- restart_walks --
-- Walks whose position named a gone transaction start over (paging from an unknown
-- signature returns nothing).
update core.cursors set ref = null, updated_at = now() where chain = $1 and source = any($2::text[])

-- try_lock_job --
-- A session-level lock: one ingest of a chain (or one refresh) at a time, across replicas.
select pg_try_advisory_lock(hashtext('depin-indexer:' || $1))

-- unlock_job --
select pg_advisory_unlock(hashtext('depin-indexer:' || $1))

-- lock_for_transaction --
-- Waits for the lock, held until the transaction ends.
select pg_advisory_xact_lock(hashtext('depin-indexer:' || $1))

-- upsert_token_accounts --
-- Token accounts of followed wallets seen in this batch's transactions, one row each:
-- their first and last slot widen; owner and mint are those of the latest sighting.
insert into core.token_accounts as t (chain, account, owner, mint, first_slot, last_slot)
select $1, a, o, m, f, l from unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[]) as u(a, o, m, f, l)
on conflict (chain, account) do update set
    first_slot = least(t.first_slot, excluded.first_slot),
    last_slot = greatest(t.last_slot, excluded.last_slot),
    owner = case when excluded.last_slot >= t.last_slot then excluded.owner else t.owner end,
    mint = case when excluded.last_slot >= t.last_slot then excluded.mint else t.mint end

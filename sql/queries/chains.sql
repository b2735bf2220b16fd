-- Named queries of the ingestors (indexer/chains/*): what they read back of their own
-- state. Everything they write goes through indexer/store/writer.py.

-- stored_block_hash --
-- The hash stored for block $2, to check that a fetched range extends it.
select hash from core.blocks where chain = $1 and number = $2

-- stored_blocks --
-- The unfinalised window, newest first: a reorg is found by walking it back.
select number, hash from core.blocks where chain = $1 order by number desc

-- unfinalised_transactions --
select signature, slot from core.unfinalised_transactions where chain = $1

-- interrupted_walks --
-- Cursors of walks paging back through an address's history ($2: a LIKE pattern of
-- their source names) that are partway through.
select source, ref from core.cursors where chain = $1 and source like $2 and ref is not null

-- known_token_accounts --
-- Recorded token accounts of wallets $2 for mints $3 that may have history not walked
-- yet: never walked, or seen in a slot above their cursor. $4 true: all of them (verify).
select t.account
from core.token_accounts t
left join core.cursors c on c.chain = t.chain and c.source = t.account
where t.chain = $1 and t.owner = any($2::text[]) and t.mint = any($3::text[])
  and ($4 or c.block is null or c.block < t.last_slot)
order by t.first_slot, t.account

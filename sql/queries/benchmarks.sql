-- Named queries of benchmarks/*: the naive baselines a benchmark measures ours against.

-- baseline_insert_flow --
-- One flow per call, as an executemany loop writes it: what the simplest indexer does.
insert into core.flows (chain, block, block_time, tx, idx, token, src, dst, amount)
values ($1, $2, to_timestamp($3), $4, $5, $6, $7, $8, $9::numeric)
on conflict do nothing

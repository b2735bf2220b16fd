-- Named queries of the scheduled service (indexer/service.py).

-- record_status --
-- One row per chain for /readyz and the freshness figures. $4 NULL: a success (now is
-- the last success); otherwise the error, keeping the last success as it was.
insert into core.chain_status as s (chain, head, final_head, observed_at, last_success_at, last_error)
values ($1, $2, $3, now(), case when $4::text is null then now() end, $4)
on conflict (chain) do update set
    head = coalesce(excluded.head, s.head),
    final_head = coalesce(excluded.final_head, s.final_head),
    observed_at = now(),
    last_success_at = coalesce(excluded.last_success_at, s.last_success_at),
    last_error = excluded.last_error

-- record_verify --
-- The outcome of a scheduled verify of chain $1: $2 mismatches, or $3 the error that
-- stopped it (then the last count found stays as it was).
insert into core.chain_status as s (chain, verified_at, verify_mismatches, verify_error)
values ($1, case when $3::text is null then now() end, $2, $3)
on conflict (chain) do update set
    verified_at = coalesce(excluded.verified_at, s.verified_at),
    verify_mismatches = coalesce(excluded.verify_mismatches, s.verify_mismatches),
    verify_error = excluded.verify_error

-- undecodable_count --
-- Transactions of chain $1 recorded as undecodable (the depin_undecodable_transactions gauge).
select count(*) from core.undecodable_transactions where chain = $1

-- 0150_discover_rollups: what `depin-indexer discover` reads instead of every flow.
--
-- Ranking a token's addresses from core.flows means aggregating every flow of the token:
-- 17 s on 10 million flows, most of it hashing ~200,000 addresses twice. Two rollups,
-- kept by the refresh from the days whose flows changed, answer the same questions from
-- far fewer rows (docs/discover.md, "How it stays fast"):
--
--   core.pair_days       one row per (token, sender, receiver, UTC day): transfers, amount
--                        and the UTC hours in which they moved. Exact: discover's evidence
--                        (distinct counterparties, amounts, rounds and gaps) comes from the
--                        rows of its few candidates, found through the two indexes.
--   core.address_months  one row per (token, address, UTC month): counts, mints, burns and
--                        64-bit sketches of the counterparties. Only the first, cheap pass
--                        of discover reads it, to choose which addresses to look at closely.
--
-- Days whose flows changed since the last refresh are read from core.flows instead, so
-- the evidence discover shows is exact whenever the refresh last ran (which addresses it
-- looks at closely, chosen from the monthly rows, can differ a little). A mark now says
-- whether the flows of its day changed (writers, deletes, repairs) or only what is derived
-- from them (labels, prices): only the first kind recomputes the day's pair rows.

alter table core.dirty_days add column flows boolean not null default true;
comment on column core.dirty_days.flows is
    'The flows of this day changed (not only labels or prices): the refresh recomputes its core.pair_days rows.';

-- The one marking function gains the flag. Its default is true (the flows changed), the
-- safe side: a caller that forgets it recomputes the pairs for nothing, never misses them,
-- and core.delete_flows (0060) marks its days as before. Marks for labels, tokens, prices
-- and assumptions pass false. An existing mark keeps a true flag: a price import after a
-- write still recomputes the day's pairs. A day marked again keeps its first marked_at
-- (analytics.freshness.dirty_since: how long the oldest day has waited); the DO UPDATE
-- still locks the row, as 0050 needs.
drop function core.mark_dirty(text[], date[]);
create function core.mark_dirty(p_chains text[], p_days date[], p_flows boolean default true) returns integer
language sql volatile
as $$
    with marked as (
        insert into core.dirty_days (chain, day, flows)
        select distinct c, d, p_flows from unnest(p_chains, p_days) as u(c, d)
        on conflict (chain, day) do update
            set flows = core.dirty_days.flows or excluded.flows
        returning 1
    )
    select count(*)::integer from marked
$$;

create table core.pair_days (
    chain     text    not null,
    token     text    not null,
    src       text,             -- NULL: minted
    dst       text,             -- NULL: burnt
    day       date    not null, -- UTC
    transfers integer not null,
    amount    numeric not null, -- raw units, summed
    hours     integer not null  -- bit h set: at least one of them in UTC hour h
);
comment on table core.pair_days is
    'Flows per (chain, token, sender, receiver, UTC day), kept by the refresh for discover (docs/discover.md).';
-- Discover looks up its candidates' rows from either end; the refresh deletes by day.
-- Keyed by a 64-bit hash of the address, not the address text with its chain and token:
-- a fifth of the size, so that the refresh's inserts find their index pages in memory
-- (with the text keys they cost 200 us a row on 10 million flows). A lookup compares the
-- text as well; NULL (mint, burn) hashes to NULL, which the index keeps.
create index pair_days_by_src on core.pair_days (hashtextextended(src, 0), day);
create index pair_days_by_dst on core.pair_days (hashtextextended(dst, 0), day);
create index pair_days_by_day on core.pair_days using brin (day);

create table core.address_months (
    chain           text    not null,
    token           text    not null,
    address         text    not null,
    month           date    not null, -- first day, UTC
    payouts         integer not null default 0, -- transfers sent to someone
    receipts        integer not null default 0, -- transfers received from someone
    mints           integer not null default 0,
    burns           integer not null default 0,
    minted          numeric,                    -- raw; NULL: none
    burnt           numeric,
    -- Bit k set: a counterparty whose hashtext() & 63 = k was seen. Only ever OR-ed, so a
    -- reorg that removes a counterparty leaves its bit: an upper bound, which is all the
    -- first pass of discover needs (its exact counts come from core.pair_days).
    recipients_seen bigint  not null default 0,
    payers_seen     bigint  not null default 0,
    primary key (chain, token, address, month)
);
comment on table core.address_months is
    'Per (chain, token, address, UTC month): counts and counterparty sketches, kept by the refresh for discover.';

-- Every day with flows gets its pair rows at the next refresh.
select core.mark_dirty(array_agg(chain), array_agg(day), true) from (
    select distinct chain, (block_time at time zone 'UTC')::date as day from core.flows
) d;

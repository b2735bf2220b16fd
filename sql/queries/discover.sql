-- Named queries of `depin-indexer discover` (indexer/figures/discover.py): rank the
-- addresses of one token by how they behave in core.flows, to find the wallets nobody
-- publishes (docs/discover.md). Read-only; nothing here writes a label.
--
-- Kinds of candidate, each scored in 0..1 (1 = the behaviour in full), from one token's
-- flows in the window [since, until]:
--
--   distributor         (suggests `rewards`) pays the same large set of wallets on a fixed
--                       cadence, like an hourly reward distributor.
--                       score = breadth x fill x cadence
--                         breadth = recipients / (recipients + 25): 25 recipients give 0.5
--                         fill    = payouts / (payout hours x recipients), at most 1: the
--                                   share of its recipients paid in an hour it pays at all
--                                   (a distributor pays most of them every round; a
--                                   busy trader pays a different one or two each hour)
--                         cadence = gap_regularity x rounds / (rounds + 2)
--   collector           (suggests `revenue`) receives from many payers and rarely sends.
--                       score = payers / (payers + 10) x retention^2 x rounds / (rounds + 2)
--                         retention = transfers in / (transfers in + transfers out),
--                                     mints left out (a trader keeps about 0.5)
--   emission_recipient  (suggests `rewards` on the wallet: what it pays on are node
--                       earnings) receives newly minted supply, again and again.
--                       score = rounds / (rounds + 1) x (0.5 + 0.5 gap_regularity)
--                               x (0.5 + 0.5 share of everything minted in the window)
--                       (a one-off genesis mint, however large, scores at most 0.25)
--   burner              (suggests `burn_revenue`, a label on the token) burns the token.
--                       score as emission_recipient's, with burns for mints
--
-- The events of a kind are its payouts (distributor), receipts (collector), mints
-- received or burns. They are counted in UTC hours: "rounds" is the number of hours with
-- at least one; a gap is the time between two consecutive such hours; median_gap_hours
-- is the median gap; gap_regularity is the share of gaps within half and one and a half
-- times that median (1.0: a fixed cadence, gaps of a missed round or two lower it),
-- NULL below three rounds (one gap is no cadence). A candidate scores above 0; a
-- distributor has at least two recipients, a collector at least two payers.
--
-- Two statements, so that the costly part reads only the addresses that can win:
--   pool        per address of the token: counts of payouts, receipts, mints and burns,
--               and 64-bit sketches of the counterparties, from core.address_months (the
--               months overlapping the window). The best greatest(25, 5 x the limit)
--               addresses by each of six cheap stand-ins for the scores (by volume and by
--               shape, so that a small but clean collector is not crowded out by busy
--               traders) form the pool.
--   candidates  the pool's rows of core.pair_days in the window (per counterparty and
--               day, with the hours): exact distinct counterparties, amounts, hours and
--               gaps, the four scores, the best of each kind.
-- Days whose flows changed since the last refresh (core.dirty_days with flows) have no
-- current rollup rows: both statements read those days from core.flows instead, shaped
-- like the rollups, and skip the rollups' rows of them (sql/migrations/0150).
-- Both run in one repeatable-read, read-only transaction (the same snapshot).
-- Parameters: $1 chain, $2 token address, $3 since, $4 until (UTC days, inclusive;
-- NULL = open), $5 candidates per kind; pool takes $6 the stale days (stale_days);
-- candidates takes $6 the pool (text[]) and $7 the stale days.

-- token --
-- The token named by address or symbol on a chain (an address wins over a symbol).
select address, symbol, decimals from core.tokens
where chain = $1 and (address = $2 or symbol = $2)
order by address = $2 desc, address
limit 2

-- chain_tokens --
select symbol from core.tokens where chain = $1 order by symbol

-- stale_days --
-- Days of the window whose flows changed since the last refresh: their rollup rows are not
-- current, so pool ($6) and candidates ($7) read them from core.flows. A constant array,
-- not a subquery, so that the planner knows how few they are (none, most of the time)
-- and never scans every flow to join them.
select coalesce(array_agg(day order by day), '{}') as days from core.dirty_days
where chain = $1 and flows
  and day between coalesce($2::date, '-infinity'::date) and coalesce($3::date, 'infinity'::date)

-- pool --
with fresh as (
    -- Their flows, read from core.flows (one time range per day: partitions and the BRIN
    -- index keep it to those days).
    select f.src, f.dst, f.amount
    from unnest($6::date[]) as d (day)
    join core.flows f
      on f.block_time >= d.day::timestamp at time zone 'UTC'
     and f.block_time < (d.day + 1)::timestamp at time zone 'UTC'
    where f.chain = $1 and f.token = $2
), parts as (
    -- The months overlapping the window: a superset of it, and a month with stale days
    -- counts them twice. Both only widen the pool; the candidates are exact.
    select address, payouts, receipts, mints, burns, minted, burnt, recipients_seen, payers_seen
    from core.address_months
    where chain = $1 and token = $2
      and month >= date_trunc('month', coalesce($3::date, '-infinity'::date))
      and month <= coalesce($4::date, 'infinity'::date)
    union all
    -- bit_or skips NULLs: a burn has no recipient, a mint no payer.
    select src, count(dst)::int, 0, 0, (count(*) - count(dst))::int, null, sum(amount) filter (where dst is null),
           coalesce(bit_or(1::int8 << (hashtext(dst) & 63)), 0), 0
    from fresh where src is not null
    group by src
    union all
    select dst, 0, count(src)::int, (count(*) - count(src))::int, 0, sum(amount) filter (where src is null), null,
           0, coalesce(bit_or(1::int8 << (hashtext(src) & 63)), 0)
    from fresh where dst is not null
    group by dst
), counts as materialized (
    -- Linear counting: n distinct counterparties set about 64 (1 - e^(-n/64)) of the 64
    -- bits, so n ~ 64 ln(64 / unset bits): close below ~150, where breadth saturates.
    select address,
           sum(payouts) as payouts, sum(burns) as burns, sum(burnt) as burnt,
           sum(receipts) as receipts, sum(mints) as mints, sum(minted) as minted,
           64 * ln(64 / greatest(64 - bit_count(bit_or(recipients_seen)::bit(64)), 0.5)::float8) as recipients,
           64 * ln(64 / greatest(64 - bit_count(bit_or(payers_seen)::bit(64)), 0.5)::float8) as payers
    from parts
    group by address
), pool as (
    -- The best of each kind by cheap stand-ins for its score, by volume and by shape
    -- (so that a small but clean collector is not crowded out by busy traders).
    (select address from counts where payouts >= 2
     order by payouts desc, address limit greatest(25, 5 * $5::int))
    union
    (select address from counts where payouts >= 2
     order by payouts / (recipients + 25) desc, address
     limit greatest(25, 5 * $5::int))
    union
    (select address from counts where receipts >= 2
     order by receipts * (receipts::float8 / (receipts + payouts + burns)) ^ 2 * payers / (payers + 10) desc, address
     limit greatest(25, 5 * $5::int))
    union
    (select address from counts where receipts >= 2
     order by (receipts::float8 / (receipts + payouts + burns)) ^ 2 * payers / (payers + 10) * receipts / (receipts + 2)
              desc, address
     limit greatest(25, 5 * $5::int))
    union
    (select address from counts where mints >= 1
     order by mints desc, minted desc, address limit greatest(25, 5 * $5::int))
    union
    (select address from counts where burns >= 1
     order by burns desc, burnt desc, address limit greatest(25, 5 * $5::int))
)
select array(select address from pool order by address) as pool

-- candidates --
with fresh as (
    -- Those days' flows, in core.pair_days' shape: per pair and day, with its hours.
    select f.src, f.dst, d.day, count(*)::int as transfers, sum(f.amount) as amount,
           bit_or(1 << extract(hour from f.block_time at time zone 'UTC')::int) as hours
    from unnest($7::date[]) as d (day)
    join core.flows f
      on f.block_time >= d.day::timestamp at time zone 'UTC'
     and f.block_time < (d.day + 1)::timestamp at time zone 'UTC'
    where f.chain = $1 and f.token = $2
    group by f.src, f.dst, d.day
), rolled as (
    -- The rollup's rows of the window's other days, from either end of the pool.
    select p.src, p.dst, p.day, p.transfers, p.amount, p.hours
    from core.pair_days p
    where p.chain = $1 and p.token = $2
      and p.day between coalesce($3::date, '-infinity'::date) and coalesce($4::date, 'infinity'::date)
      -- Through the hash indexes (sql/migrations/0150), then the text itself.
      and (hashtextextended(p.src, 0) = any(array(select hashtextextended(a, 0) from unnest($6::text[]) a))
           or hashtextextended(p.dst, 0) = any(array(select hashtextextended(a, 0) from unnest($6::text[]) a)))
      and (p.src = any($6::text[]) or p.dst = any($6::text[]))
      and p.day <> all($7::date[])
), sides as materialized (
    -- Each pair-day seen from its pool end(s): a self-transfer of a pooled address twice.
    select s.address, s.outgoing, s.other, r.day, r.transfers, r.amount, r.hours
    from (select * from rolled union all select * from fresh) r
    cross join lateral (values (r.src, true, r.dst), (r.dst, false, r.src)) as s (address, outgoing, other)
    where s.address = any($6::text[])
), supply as (
    -- Everything minted and burnt in the window, by anyone: the emission and burn shares.
    select coalesce(sum(amount) filter (where src is null), 0) as minted,
           coalesce(sum(amount) filter (where dst is null), 0) as burnt
    from (
        select p.src, p.dst, p.amount from core.pair_days p
        where p.chain = $1 and p.token = $2
          and (hashtextextended(p.src, 0) is null or hashtextextended(p.dst, 0) is null)
          and p.day between coalesce($3::date, '-infinity'::date) and coalesce($4::date, 'infinity'::date)
          and p.day <> all($7::date[])
        union all
        select src, dst, amount from fresh where src is null or dst is null
    ) m
), counterparties as (
    -- Per address, direction and counterparty (NULL: mints in, burns out).
    select address, outgoing, other, sum(transfers) as n, sum(amount) as amount,
           min(day) as first_day, max(day) as last_day
    from sides
    group by address, outgoing, other
), totals as (
    select address,
           count(*) filter (where outgoing and other is not null) as recipients,
           count(*) filter (where not outgoing and other is not null) as payers,
           coalesce(sum(n) filter (where outgoing), 0) as transfers_out,
           coalesce(sum(n) filter (where not outgoing), 0) as transfers_in,
           coalesce(sum(n) filter (where outgoing and other is not null), 0) as payouts,
           coalesce(sum(n) filter (where not outgoing and other is not null), 0) as receipts,
           coalesce(sum(amount) filter (where outgoing), 0) as amount_out,
           coalesce(sum(amount) filter (where not outgoing), 0) as amount_in,
           coalesce(sum(amount) filter (where not outgoing and other is null), 0) as minted,
           coalesce(sum(amount) filter (where outgoing and other is null), 0) as burnt,
           min(first_day) as first_day,
           max(last_day) as last_day
    from counterparties
    group by address
), day_hours as (
    -- Per address, kind of event and day: the UTC hours it happened in (a bit each).
    select address,
           case when other is not null then (case when outgoing then 'payout' else 'receipt' end)
                when outgoing then 'burn' else 'mint' end as event,
           day, bit_or(hours) as hours
    from sides
    group by 1, 2, 3
), hours as (
    -- One row per address, kind of event and UTC hour: the rounds of each event.
    select address, event, day + make_interval(hours => h) as hour
    from day_hours
    cross join generate_series(0, 23) as h
    where hours & (1 << h) <> 0
), gaps as (
    select address, event, hour,
           (extract(epoch from hour - lag(hour) over (partition by address, event order by hour)) / 3600)::float8
               as gap
    from hours
), medians as (
    -- percentile_cont skips NULLs: the first round of each has no gap before it.
    select address, event, count(*) as rounds, percentile_cont(0.5) within group (order by gap) as median_gap
    from gaps
    group by address, event
), cadence as (
    -- One gap is no cadence: regularity needs at least two (three rounds).
    select m.address, m.event, m.rounds, m.median_gap,
           case when m.rounds >= 3 then
               avg(case when g.gap between 0.5 * m.median_gap and 1.5 * m.median_gap then 1.0 else 0.0 end)::float8
           end as regularity
    from medians m
    left join gaps g on g.address = m.address and g.event = m.event and g.gap is not null
    group by m.address, m.event, m.rounds, m.median_gap
), days as (
    select address, count(distinct day) as active_days
    from day_hours
    group by address
), scored as (
    select e.kind, e.suggested_role, t.*, d.active_days, c.median_gap, c.regularity,
           case e.kind
               when 'distributor' then
                   t.recipients / (t.recipients + 25.0)
                   * least(1.0, t.payouts::float8 / (c.rounds * t.recipients))
                   * coalesce(c.regularity, 0) * c.rounds / (c.rounds + 2.0)
               when 'collector' then
                   t.payers / (t.payers + 10.0)
                   * (t.receipts::float8 / (t.receipts + t.transfers_out)) ^ 2
                   * c.rounds / (c.rounds + 2.0)
               when 'emission_recipient' then
                   c.rounds / (c.rounds + 1.0) * (0.5 + 0.5 * coalesce(c.regularity, 0))
                   * (0.5 + 0.5 * coalesce((t.minted / nullif(su.minted, 0))::float8, 0))
               else
                   c.rounds / (c.rounds + 1.0) * (0.5 + 0.5 * coalesce(c.regularity, 0))
                   * (0.5 + 0.5 * coalesce((t.burnt / nullif(su.burnt, 0))::float8, 0))
           end as score
    from totals t
    join days d using (address)
    cross join supply su
    cross join (
        values ('distributor', 'rewards', 'payout'),
               ('collector', 'revenue', 'receipt'),
               ('emission_recipient', 'rewards', 'mint'),
               ('burner', 'burn_revenue', 'burn')
    ) as e (kind, suggested_role, event)
    join cadence c on c.address = t.address and c.event = e.event
    -- A distributor pays at least two wallets; a collector is paid by at least two.
    where case e.kind
              when 'distributor' then t.recipients >= 2
              when 'collector' then t.payers >= 2
              else true
          end
), ranked as (
    select s.*, row_number() over (partition by kind order by score desc, address) as place
    from scored s
    where s.score > 0
)
select r.kind, r.suggested_role, r.address, round(r.score::numeric, 3)::float8 as score,
       r.recipients, r.payers, r.transfers_out, r.transfers_in, r.active_days,
       r.median_gap as median_gap_hours, round(r.regularity::numeric, 3)::float8 as gap_regularity,
       trim_scale(core.scale_amount(r.amount_out, tok.decimals))::text as amount_out,
       trim_scale(core.scale_amount(r.amount_in, tok.decimals))::text as amount_in,
       r.first_day, r.last_day,
       array(select l.network || ' ' || l.role from core.labels l
             where l.chain = $1 and l.address = r.address order by 1) as labelled
from ranked r
join core.tokens tok on tok.chain = $1 and tok.address = $2
where r.place <= $5
order by array_position(array['distributor', 'collector', 'emission_recipient', 'burner'], r.kind), r.place

-- settings --
-- For this transaction only. The pool hashes one group per address of the token (hundreds
-- of thousands on a busy one) and the candidates keep the pool's flows (a 3-million-flow
-- distributor is ~400 MB): in memory that is several times faster than spilled to disk,
-- which the default work_mem (4 MB) forces. A memoised lateral VALUES only costs here. A
-- custom plan makes the pool a constant, which the scan looks up in a hash table.
select set_config('work_mem', '512MB', true),
       set_config('enable_memoize', 'off', true),
       set_config('plan_cache_mode', 'force_custom_plan', true)

-- roll_up_days --
-- In the refresh transaction (indexer/figures/refresh.py): the (chain, day) pairs $1/$2
-- (their span: $3 the first day's start, $4 the last day's end, UTC)
-- whose flows changed get their core.pair_days rows recomputed from core.flows, and
-- core.address_months moves by the difference (old rows out, new rows in). Returns the
-- month rows left with nothing in them (a reorg took their flows), for
-- drop_empty_address_months. Cost: the flows of those days, whatever the history.
with dirty as (
    select distinct chain, day from unnest($1::text[], $2::date[]) as d (chain, day)
), gone as (
    delete from core.pair_days p using dirty d
    where p.chain = d.chain and p.day = d.day
    returning p.chain, p.token, p.src, p.dst, p.day, p.transfers, p.amount
), came as (
    insert into core.pair_days (chain, token, src, dst, day, transfers, amount, hours)
    select f.chain, f.token, f.src, f.dst, d.day, count(*), sum(f.amount),
           bit_or(1 << extract(hour from f.block_time at time zone 'UTC')::int)
    from dirty d
    join core.flows f
      on f.chain = d.chain
     and f.block_time >= d.day::timestamp at time zone 'UTC'
     and f.block_time < (d.day + 1)::timestamp at time zone 'UTC'
    -- The days' span as constants ($3, $4), which the planner sees: it then reads those
    -- days through the BRIN index, not the whole month.
    where f.block_time >= $3 and f.block_time < $4
    group by f.chain, f.token, f.src, f.dst, d.day
    -- A day's rows together (the BRIN index on day finds them for the next recompute),
    -- and within it a sender's (discover reads a candidate's rows by sender).
    order by d.day, f.chain, f.token, f.src
    returning chain, token, src, dst, day, transfers, amount
), changes as (
    select chain, token, src, dst, day, -transfers as transfers, -amount as amount, false as new from gone
    union all
    select chain, token, src, dst, day, transfers, amount, true from came
), sides as (
    -- Each change from its sender's and its receiver's side; only new rows add sketch bits.
    select chain, token, src as address, date_trunc('month', day)::date as month,
           coalesce(sum(transfers) filter (where dst is not null), 0) as payouts, 0 as receipts,
           0 as mints, coalesce(sum(transfers) filter (where dst is null), 0) as burns,
           null::numeric as minted, sum(amount) filter (where dst is null) as burnt,
           coalesce(bit_or(1::int8 << (hashtext(dst) & 63)) filter (where new), 0) as recipients_seen,
           0::int8 as payers_seen
    from changes where src is not null
    group by 1, 2, 3, 4
    union all
    select chain, token, dst, date_trunc('month', day)::date,
           0, coalesce(sum(transfers) filter (where src is not null), 0),
           coalesce(sum(transfers) filter (where src is null), 0), 0,
           sum(amount) filter (where src is null), null,
           0, coalesce(bit_or(1::int8 << (hashtext(src) & 63)) filter (where new), 0)
    from changes where dst is not null
    group by 1, 2, 3, 4
), upserted as (
    insert into core.address_months as m
        (chain, token, address, month, payouts, receipts, mints, burns, minted, burnt, recipients_seen, payers_seen)
    select chain, token, address, month, sum(payouts), sum(receipts), sum(mints), sum(burns),
           sum(minted), sum(burnt), bit_or(recipients_seen), bit_or(payers_seen)
    from sides
    group by chain, token, address, month
    on conflict (chain, token, address, month) do update set
        payouts = m.payouts + excluded.payouts,
        receipts = m.receipts + excluded.receipts,
        mints = m.mints + excluded.mints,
        burns = m.burns + excluded.burns,
        minted = case when m.mints + excluded.mints > 0 then coalesce(m.minted, 0) + coalesce(excluded.minted, 0) end,
        burnt = case when m.burns + excluded.burns > 0 then coalesce(m.burnt, 0) + coalesce(excluded.burnt, 0) end,
        recipients_seen = m.recipients_seen | excluded.recipients_seen,
        payers_seen = m.payers_seen | excluded.payers_seen
    returning m.chain, m.token, m.address, m.month, m.payouts + m.receipts + m.mints + m.burns = 0 as empty
)
select chain, token, address, month from upserted where empty

-- drop_empty_address_months --
-- $1..$4: parallel arrays of the keys roll_up_days returned.
delete from core.address_months m
using unnest($1::text[], $2::text[], $3::text[], $4::date[]) as e (chain, token, address, month)
where m.chain = e.chain and m.token = e.token and m.address = e.address and m.month = e.month

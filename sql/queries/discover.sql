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
--   pool        one aggregation per sender and one per receiver over the token's flows:
--               counts of payouts, receipts, mints and burns, and 64-bit sketches of the
--               counterparties. The best greatest(25, 5 x the limit) addresses by each of
--               six cheap stand-ins for the scores (by volume and by shape, so that a
--               small but clean collector is not crowded out by busy traders) form the
--               pool.
--   candidates  the flows of the pool only: exact distinct counterparties, amounts,
--               hours and gaps, the four scores, the best of each kind.
-- Both run in one repeatable-read, read-only transaction (the same snapshot).
-- Parameters: $1 chain, $2 token address, $3 since, $4 until (UTC days, inclusive;
-- NULL = open), $5 candidates per kind; candidates also takes $6 the pool (text[]),
-- $7 and $8 the raw amounts minted and burnt in the window (from pool).

-- token --
-- The token named by address or symbol on a chain (an address wins over a symbol).
select address, symbol, decimals from core.tokens
where chain = $1 and (address = $2 or symbol = $2)
order by address = $2 desc, address
limit 2

-- chain_tokens --
select symbol from core.tokens where chain = $1 order by symbol

-- pool --
with sent as (
    -- Per sender and per receiver, one parallel aggregation each. A NULL counterparty is
    -- a burn (sent to nobody) or a mint (received from nobody).
    select src as address,
           count(*) filter (where dst is not null) as payouts,
           count(*) filter (where dst is null) as burns,
           sum(amount) filter (where dst is null) as burnt,
           -- A 64-bit sketch of the recipients (bit k: one of them hashes to k): far cheaper
           -- than counting distinct recipients of every address (bit_or skips NULLs).
           bit_or(1::int8 << (hashtext(dst) & 63)) as recipients_seen
    from core.flows
    where chain = $1 and token = $2 and src is not null
      and block_time >= coalesce($3::date, '-infinity'::date)::timestamp at time zone 'UTC'
      and block_time < coalesce($4::date + 1, 'infinity'::date)::timestamp at time zone 'UTC'
    group by src
), received as (
    select dst as address,
           count(*) filter (where src is not null) as receipts,
           count(*) filter (where src is null) as mints,
           sum(amount) filter (where src is null) as minted,
           bit_or(1::int8 << (hashtext(src) & 63)) as payers_seen
    from core.flows
    where chain = $1 and token = $2 and dst is not null
      and block_time >= coalesce($3::date, '-infinity'::date)::timestamp at time zone 'UTC'
      and block_time < coalesce($4::date + 1, 'infinity'::date)::timestamp at time zone 'UTC'
    group by dst
), counts as materialized (
    -- Linear counting: n distinct counterparties set about 64 (1 - e^(-n/64)) of the 64
    -- bits, so n ~ 64 ln(64 / unset bits): close below ~150, where breadth saturates.
    select address,
           coalesce(s.payouts, 0) as payouts, coalesce(s.burns, 0) as burns, s.burnt,
           coalesce(r.receipts, 0) as receipts, coalesce(r.mints, 0) as mints, r.minted,
           64 * ln(64 / greatest(64 - bit_count(coalesce(s.recipients_seen, 0)::bit(64)), 0.5)::float8) as recipients,
           64 * ln(64 / greatest(64 - bit_count(coalesce(r.payers_seen, 0)::bit(64)), 0.5)::float8) as payers
    from sent s
    full join received r using (address)
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
select array(select address from pool order by address) as pool,
       (select coalesce(sum(minted), 0) from counts) as minted,
       (select coalesce(sum(burnt), 0) from counts) as burnt

-- candidates --
with sides as materialized (
    -- The pool's flows, each seen from its pool end(s): read once, aggregated twice below
    -- (a second scan of core.flows costs more than keeping these rows).
    select s.address, s.outgoing, s.other, f.amount, f.block_time
    from core.flows f
    cross join lateral (values (f.src, true, f.dst), (f.dst, false, f.src)) as s (address, outgoing, other)
    where f.chain = $1 and f.token = $2
      and f.block_time >= coalesce($3::date, '-infinity'::date)::timestamp at time zone 'UTC'
      and f.block_time < coalesce($4::date + 1, 'infinity'::date)::timestamp at time zone 'UTC'
      and (f.src = any($6::text[]) or f.dst = any($6::text[]))
      and s.address = any($6::text[])
), counterparties as (
    -- Per address, direction and counterparty (NULL: mints in, burns out).
    select address, outgoing, other, count(*) as n, sum(amount) as amount,
           min(block_time) as first_at, max(block_time) as last_at
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
           (min(first_at) at time zone 'UTC')::date as first_day,
           (max(last_at) at time zone 'UTC')::date as last_day
    from counterparties
    group by address
), hours as (
    -- One row per address, kind of event and UTC hour: the rounds of each event.
    select address,
           case when other is not null then (case when outgoing then 'payout' else 'receipt' end)
                when outgoing then 'burn' else 'mint' end as event,
           date_trunc('hour', block_time at time zone 'UTC') as hour
    from sides
    group by 1, 2, 3
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
    select address, count(distinct hour::date) as active_days
    from hours
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
                   * (0.5 + 0.5 * coalesce((t.minted / nullif($7::numeric, 0))::float8, 0))
               else
                   c.rounds / (c.rounds + 1.0) * (0.5 + 0.5 * coalesce(c.regularity, 0))
                   * (0.5 + 0.5 * coalesce((t.burnt / nullif($8::numeric, 0))::float8, 0))
           end as score
    from totals t
    join days d using (address)
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

-- 0050_mark_dirty: the one way a (chain, day) is marked for the next refresh.
--
-- The mark is an upsert that LOCKS an existing row (DO UPDATE, never DO NOTHING) until the
-- marking transaction commits. The refresh takes only rows it can lock (take_dirty: FOR
-- UPDATE SKIP LOCKED), so it never takes a mark whose flows are not committed yet and
-- recomputes the day without them. Every writer, relabel, price import and repair marks
-- through this function, so no statement can forget the rule. Returns the pairs marked.
create function core.mark_dirty(p_chains text[], p_days date[]) returns integer
language sql volatile
as $$
    with marked as (
        insert into core.dirty_days (chain, day)
        select distinct c, d from unnest(p_chains, p_days) as u(c, d)
        on conflict (chain, day) do update set marked_at = now()
        returning 1
    )
    select count(*)::integer from marked
$$;

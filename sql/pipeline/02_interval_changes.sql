-- The productive-time rule, recomputed inside each affected window:
-- events -> spans (each event's state lasts until the extension's next event; the last one to the end
-- of its interval) -> slices split at every :00/:30 boundary -> totals per interval, capped at 0.5 h.
insert into interval_changes (
    run_id,
    extension,
    interval_start,
    productive_ms,
    event_count
)
with run as (
    select cast(? as varchar) as run_id
),

windows as (
    select
        affected.extension,
        affected.window_start,
        affected.window_end
    from affected_windows as affected
    cross join run
    where affected.run_id = run.run_id
),

reach as (
    -- the event before a window sets the state the window opens in; the first at or after its end
    -- closes the window's last span
    select
        windows.extension,
        windows.window_start,
        windows.window_end,
        max(case when events.done_on < windows.window_start then events.done_on end) as read_from,
        min(case when events.done_on >= windows.window_end then events.done_on end) as read_to
    from windows
    left join agent_events as events
        on events.extension = windows.extension
    group by
        windows.extension,
        windows.window_start,
        windows.window_end
),

events as (
    select
        agent_events.extension,
        agent_events.done_on,
        upper(agent_events.action) as action,
        upper(agent_events.details) as details,
        reach.window_start,
        reach.window_end
    from agent_events
    inner join reach
        on agent_events.extension = reach.extension
        and agent_events.done_on >= coalesce(reach.read_from, reach.window_start)
        and agent_events.done_on <= coalesce(reach.read_to, reach.window_end)
),

ordered_events as (
    -- same-instant events are ordered by action, then details, so exact duplicates end up side by side
    select
        extension,
        done_on,
        action,
        details,
        window_start,
        window_end,
        lead(done_on) over (
            partition by extension
            order by done_on, action, details
        ) as next_done_on,
        lead(action) over (
            partition by extension
            order by done_on, action, details
        ) as next_action,
        lead(details) over (
            partition by extension
            order by done_on, action, details
        ) as next_details
    from events
),

distinct_events as (
    -- of a run of exact duplicates, keep the last: its next event is the real one
    select
        extension,
        done_on,
        action,
        details,
        window_start,
        window_end,
        next_done_on
    from ordered_events
    where next_done_on is null
        or next_done_on <> done_on
        or next_action <> action
        or next_details <> details
),

spans as (
    select
        extension,
        window_start,
        window_end,
        done_on as span_start,
        coalesce(
            next_done_on,
            date_trunc('hour', done_on) + floor(minute(done_on) / 30) * interval '30' minute + interval '30' minute
        ) as span_end,
        date_trunc('hour', done_on) + floor(minute(done_on) / 30) * interval '30' minute as first_interval
    from distinct_events
    where action in ('ONLINE', 'REMVCEON')
        or (action = 'OFFLINE' and details = 'BACKOFFICE')
),

single_interval_slices as (
    select
        extension,
        window_start,
        window_end,
        first_interval as interval_start,
        date_diff('millisecond', span_start, span_end) as productive_ms
    from spans
    where span_end <= first_interval + interval '30' minute
),

crossing_slices as (
    select
        spans.extension,
        spans.window_start,
        spans.window_end,
        boundaries.interval_start,
        date_diff(
            'millisecond',
            greatest(spans.span_start, boundaries.interval_start),
            least(spans.span_end, boundaries.interval_start + interval '30' minute)
        ) as productive_ms
    from spans
    cross join unnest(sequence(spans.first_interval, spans.span_end, interval '30' minute)) as boundaries (interval_start)
    where spans.span_end > spans.first_interval + interval '30' minute
),

span_slices as (
    select * from single_interval_slices
    union all
    select * from crossing_slices
),

interval_parts as (
    select
        extension,
        interval_start,
        productive_ms,
        0 as event_count
    from span_slices
    where productive_ms > 0
        and interval_start >= window_start
        and interval_start < window_end
    union all
    select
        extension,
        date_trunc('hour', done_on) + floor(minute(done_on) / 30) * interval '30' minute as interval_start,
        0 as productive_ms,
        1 as event_count
    from distinct_events
    where done_on >= window_start
        and done_on < window_end
),

interval_totals as (
    select
        extension,
        interval_start,
        least(sum(productive_ms), 1800000) as productive_ms,
        sum(event_count) as event_count
    from interval_parts
    group by
        extension,
        interval_start
)

select
    run.run_id,
    interval_totals.extension,
    interval_totals.interval_start,
    cast(interval_totals.productive_ms as bigint) as productive_ms,
    cast(interval_totals.event_count as bigint) as event_count
from interval_totals
cross join run

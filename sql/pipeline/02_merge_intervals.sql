-- The productive-time rule, recomputed inside each affected window that holds gold rows, merged on
-- (extension, interval_start): events -> spans (each event's state lasts until the extension's next event;
-- the last one to the end of its interval) -> span_slices, split at every :00/:30 boundary -> totals per
-- interval, capped at 0.5 h -> changes against the rows the windows hold now (rows no longer produced are
-- deleted). A window with no event before it (read_from is null: a first load, a new agent) that holds no
-- gold rows is left to AppendIntervals (03_append_intervals.sql), which inserts it without a join against
-- gold; it runs after this statement, so a window this one empties is recomputed there and gains nothing.
merge into agent_intervals as target
using (
    with run_windows as (
        select
            affected.extension,
            affected.window_start,
            affected.window_end,
            affected.read_from,
            affected.read_to
        from affected_windows as affected
        where affected.run_id = from_utf8(from_base64('{run_id}'))
    ),

    run_range as (
        select
            min(window_start) as first_interval,
            max(window_end) as end_interval
        from run_windows
    ),

    current_intervals as (
        -- the rows the run's windows hold now
        select
            intervals.extension,
            intervals.interval_start
        from agent_intervals as intervals
        inner join run_range
            on intervals.interval_start >= run_range.first_interval
            and intervals.interval_start < run_range.end_interval
        inner join run_windows
            on intervals.extension = run_windows.extension
            and intervals.interval_start >= run_windows.window_start
            and intervals.interval_start < run_windows.window_end
    ),

    windows as (
        -- the windows with an event before them (they hold that event's row), and the others that hold rows
        select
            run_windows.extension,
            run_windows.window_start,
            run_windows.window_end,
            coalesce(run_windows.read_from, cast(run_windows.window_start as date)) as read_from,
            run_windows.read_to
        from run_windows
        where run_windows.read_from is not null
            or run_windows.extension in (select extension from current_intervals)
    ),

    window_range as (
        select
            min(read_from) as first_day,
            max(read_to) as last_day
        from windows
        having count(*) > 0
    ),

    running as (
        -- while the run is running its rows stand for its object; once it has failed (the same
        -- statement then undoes its changes) they no longer count
        select
            runs.run_id,
            runs.source_object
        from pipeline_runs as runs
        where runs.run_id = from_utf8(from_base64('{run_id}'))
            and runs.status = 'RUNNING'
    ),

    published_runs as (
        select
            source_object,
            run_id
        from running
        union all
        select
            source_object,
            max_by(run_id, started_at) as run_id
        from pipeline_runs
        where status = 'SUCCEEDED'
            and source_object not in (select source_object from running)
        group by source_object
    ),

    read_days as (
        -- the days holding the windows' extensions' events, from the day of the event before each window
        -- to the day of the first after it (FindAffectedWindows found both): all that is read of silver
        select distinct extents.event_date
        from event_extents as extents
        inner join window_range
            on extents.event_date >= window_range.first_day
            and extents.event_date <= window_range.last_day
        inner join windows
            on extents.extension = windows.extension
            and extents.event_date >= windows.read_from
            and extents.event_date <= windows.read_to
        inner join published_runs
            on extents.source_object = published_runs.source_object
            and extents.run_id = published_runs.run_id
    ),

    visible_events as (
        select
            events.extension,
            events.event_date,
            events.done_on,
            events.action,
            events.details
        from agent_events as events
        inner join read_days
            on events.event_date = read_days.event_date
        inner join published_runs
            on events.source_object = published_runs.source_object
            and events.run_id = published_runs.run_id
    ),

    events as (
        -- each window's extension's events on the days from read_from to read_to: the event before the window
        -- (it sets the state the window opens in), those inside it, the first at or after its end (it closes
        -- the window's last span), and the rest of those days' events, which open no span inside the window
        -- and leave every other event's next event as it is. Exact duplicates count once.
        select
            unique_events.extension,
            windows.window_start,
            windows.window_end,
            unique_events.done_on,
            unique_events.action,
            unique_events.details
        from (
            select distinct
                extension,
                event_date,
                done_on,
                upper(action) as action,
                upper(details) as details
            from visible_events
        ) as unique_events
        inner join windows
            on unique_events.extension = windows.extension
            and unique_events.event_date >= windows.read_from
            and unique_events.event_date <= windows.read_to
    ),

    distinct_events as (
        -- same-instant events are ordered by action, then details
        select
            extension,
            window_start,
            window_end,
            done_on,
            action,
            details,
            lead(done_on) over (
                partition by extension
                order by done_on, action, details
            ) as next_done_on
        from events
    ),

    opened_states as (
        -- every event opens a state that lasts until the extension's next event; the last one lasts to
        -- the end of its own interval
        select
            extension,
            window_start,
            window_end,
            done_on,
            coalesce(
                next_done_on,
                date_trunc('hour', done_on)
                    + floor(minute(done_on) / 30) * interval '30' minute
                    + interval '30' minute
            ) as state_end,
            action in ('ONLINE', 'REMVCEON')
                or (action = 'OFFLINE' and details = 'BACKOFFICE') as is_productive
        from distinct_events
    ),

    spans as (
        -- the states that matter to the window, clipped to it: those opened inside it, and the
        -- productive state the window opens in
        select
            extension,
            is_productive,
            done_on >= window_start as opened_in_window,
            greatest(done_on, window_start) as span_start,
            least(state_end, window_end) as span_end
        from opened_states
        where done_on < window_end
            and (done_on >= window_start or (is_productive and state_end > window_start))
    ),

    span_intervals as (
        select
            extension,
            is_productive,
            opened_in_window,
            span_start,
            span_end,
            first_interval,
            -- a productive span is followed into every interval it touches; any other stays in its own
            case
                when is_productive then greatest(
                    cast(ceil(cast(date_diff('millisecond', first_interval, span_end) as double) / 1800000) as bigint),
                    1
                )
                else 1
            end as interval_count
        from (
            select
                *,
                date_trunc('hour', span_start) + floor(minute(span_start) / 30) * interval '30' minute as first_interval
            from spans
        ) as located_spans
    ),

    span_blocks as (
        select
            *,
            cast(floor(cast(interval_count - 1 as double) / 1000) as bigint) as last_block
        from span_intervals
    ),

    span_slices as (
        -- one row per interval a span touches: the productive part of the span inside it, and the
        -- event that opened the span, counted in its own interval
        select
            extension,
            interval_start,
            case
                when is_productive then date_diff(
                    'millisecond',
                    greatest(span_start, interval_start),
                    least(span_end, interval_start + interval '30' minute)
                )
                else 0
            end as productive_ms,
            case when k = 0 and opened_in_window then 1 else 0 end as event_count
        from (
            select
                span_intervals.extension,
                span_intervals.span_start,
                span_intervals.span_end,
                span_intervals.is_productive,
                span_intervals.opened_in_window,
                blocks.b * 1000 + offsets.j as k,
                span_intervals.first_interval + (blocks.b * 1000 + offsets.j) * interval '30' minute as interval_start
            from span_blocks as span_intervals
            -- offsets 0 to n-1 in blocks of 1,000: Trino refuses a sequence of more than 10,000 entries,
            -- and a productive span may run for years
            cross join unnest(sequence(0, span_intervals.last_block, 1)) as blocks (b)
            cross join unnest(
                sequence(0, least(999, span_intervals.interval_count - 1 - blocks.b * 1000), 1)
            ) as offsets (j)
        ) as touched_intervals
    ),

    interval_totals as (
        select
            extension,
            interval_start,
            least(sum(productive_ms), 1800000) as productive_ms,
            sum(event_count) as event_count
        from span_slices
        group by
            extension,
            interval_start
    ),

    changes as (
        select
            coalesce(interval_totals.extension, current_intervals.extension) as extension,
            coalesce(interval_totals.interval_start, current_intervals.interval_start) as interval_start,
            cast(interval_totals.productive_ms as bigint) as productive_ms,
            cast(interval_totals.event_count as bigint) as event_count,
            interval_totals.extension is null as vanished
        from interval_totals
        full outer join current_intervals
            on current_intervals.extension = interval_totals.extension
            and current_intervals.interval_start = interval_totals.interval_start
    )

    -- in interval order: new rows land beside their day's, so a reader bounded by interval_start skips
    -- the rest (DuckDB's zone maps locally; in Athena the table's day() partitions do this)
    select * from changes
    order by interval_start
) as source
on target.extension = source.extension
    and target.interval_start = source.interval_start
when matched and source.vanished then delete
-- rows that did not change are left alone: a re-ingest of the same data writes nothing
when matched
    and (target.productive_ms <> source.productive_ms or target.event_count <> source.event_count)
    then update set
    productive_ms = source.productive_ms,
    productive_seconds = cast(source.productive_ms as double) / 1000,
    productive_hours = least(cast(source.productive_ms as double) / 3600000, 0.5),
    event_count = source.event_count
when not matched then insert (
    extension,
    interval_start,
    productive_ms,
    productive_seconds,
    productive_hours,
    event_count
) values (
    source.extension,
    source.interval_start,
    source.productive_ms,
    cast(source.productive_ms as double) / 1000,
    least(cast(source.productive_ms as double) / 3600000, 0.5),
    source.event_count
)

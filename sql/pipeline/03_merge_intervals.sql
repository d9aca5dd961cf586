-- The productive-time rule, recomputed inside each affected window that holds gold rows, merged on
-- (extension, interval_start): events -> spans (each event's state lasts until the extension's next event;
-- the last one to the end of its interval) -> span_slices, split at every :00/:30 boundary -> totals per
-- interval, capped at 0.5 h -> changes against the rows the windows hold now (rows no longer produced are
-- deleted). A window with no event before it (read_from is null: a first load, a new agent) that holds no
-- gold rows is left to AppendIntervals (04_append_intervals.sql), which inserts the rule's rows gold does
-- not hold, without a MERGE; it runs after this statement, so a window this one empties is recomputed
-- there and gains nothing.
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
        -- the run's days as literals (sql/pipeline/run_days.sql): Athena reads only their partitions
        where intervals.interval_start >= cast(cast(from_utf8(from_base64('{first_day}')) as date) as timestamp)
            and intervals.interval_start < cast(cast(from_utf8(from_base64('{last_day}')) as date) + interval '1' day as timestamp)
    ),

    -- the run's windows with no event before them (read_from is null: a first load, a new agent), and
    -- those of them that hold gold rows now (a backfill before the history, a second object of a day),
    -- which this statement takes. Read apart from current_intervals (the rows of every window): Athena
    -- runs a WITH query again at each of its references, and the statement references held_windows
    -- through the rule's `windows`, three times
    first_windows as (
        select
            affected.extension,
            affected.window_start,
            affected.window_end
        from affected_windows as affected
        where affected.run_id = from_utf8(from_base64('{run_id}'))
            and affected.read_from is null
    ),

    first_range as (
        select
            min(window_start) as first_interval,
            max(window_end) as end_interval
        from first_windows
        having count(*) > 0
    ),

    held_windows as (
        -- the windows holding any row now
        select distinct intervals.extension
        from agent_intervals as intervals
        inner join first_range
            on intervals.interval_start >= first_range.first_interval
            and intervals.interval_start < first_range.end_interval
        inner join first_windows
            on intervals.extension = first_windows.extension
            and intervals.interval_start >= first_windows.window_start
            and intervals.interval_start < first_windows.window_end
        -- the run's days as literals (sql/pipeline/run_days.sql): at most their partitions are read
        where intervals.interval_start >= cast(cast(from_utf8(from_base64('{first_day}')) as date) as timestamp)
            and intervals.interval_start < cast(cast(from_utf8(from_base64('{last_day}')) as date) + interval '1' day as timestamp)
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
            or run_windows.extension in (select extension from held_windows)
    ),

    -- include rule/withheld_runs.ctes
    ,

    -- include rule/productive_time.ctes
    -- (the rule's CTEs, running to interval_totals; this statement's own follow)
    ,

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
    -- the run's days as literals (sql/pipeline/run_days.sql): every source row lies inside them, and they
    -- bound the target's scan to the day partitions they cover (a join does not bound a MERGE target)
    and target.interval_start >= cast(cast(from_utf8(from_base64('{first_day}')) as date) as timestamp)
    and target.interval_start < cast(cast(from_utf8(from_base64('{last_day}')) as date) + interval '1' day as timestamp)
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

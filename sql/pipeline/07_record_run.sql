-- The outcome of a successful run, counted from what the run left in silver and gold. This is the run's
-- commit point: from here on its rows stand for its object (it is published; the run it replaced was
-- marked as this run started). A retry finds the run no longer RUNNING and changes nothing.
merge into pipeline_runs as target
using (
    with loaded as (
        -- the load's own count per extension and day (event_extents), not a scan of the events, on the
        -- days it loaded as literals (FindObjectDays read them from loaded_days): Athena reads only
        -- their partitions
        select coalesce(sum(extents.event_count), 0) as rows_loaded
        from event_extents as extents
        where extents.run_id = from_utf8(from_base64('{run_id}'))
            and extents.source_object = from_utf8(from_base64('{source_object}'))
            and extents.event_date between cast(from_utf8(from_base64('{loaded_first_day}')) as date)
                and cast(from_utf8(from_base64('{loaded_last_day}')) as date)
    ),

    rejected as (
        select count(*) as rows_rejected
        from rejected_rows as rejects
        where rejects.run_id = from_utf8(from_base64('{run_id}'))
    ),

    windows as (
        select
            affected.extension,
            affected.window_start,
            affected.window_end
        from affected_windows as affected
        where affected.run_id = from_utf8(from_base64('{run_id}'))
    ),

    window_bounds as (
        select
            min(window_start) as first_interval,
            max(window_end) - interval '30' minute as last_interval
        from windows
    ),

    recomputed_weeks as (
        -- per extension and week: the windows' intervals
        select
            count(*) as intervals_touched,
            coalesce(sum(intervals.productive_ms), 0) as productive_ms
        from agent_intervals as intervals
        inner join windows
            on intervals.extension = windows.extension
            and intervals.interval_start >= windows.window_start
            and intervals.interval_start < windows.window_end
        -- the run's days as literals (sql/pipeline/run_days.sql): Athena reads only their partitions
        where intervals.interval_start >= cast(cast(from_utf8(from_base64('{first_day}')) as date) as timestamp)
            and intervals.interval_start < cast(cast(from_utf8(from_base64('{last_day}')) as date) + interval '1' day as timestamp)
        group by
            intervals.extension,
            date_trunc('week', intervals.interval_start)
    ),

    recomputed as (
        select
            coalesce(sum(intervals_touched), 0) as intervals_touched,
            coalesce(sum(productive_ms), 0) as productive_ms,
            count(*) as weeks_touched
        from recomputed_weeks
    )

    select
        runs.run_id,
        loaded.rows_loaded + rejected.rows_rejected as rows_read,
        loaded.rows_loaded,
        rejected.rows_rejected,
        recomputed.intervals_touched,
        recomputed.weeks_touched,
        cast(recomputed.productive_ms as double) / 3600000 as productive_hours,
        window_bounds.first_interval,
        window_bounds.last_interval
    from pipeline_runs as runs
    cross join loaded
    cross join rejected
    cross join recomputed
    cross join window_bounds
    -- the run's own values as literals, read once (Athena runs a WITH query again at each of its
    -- references, https://github.com/trinodb/trino/issues/18421); a retry finds the run no longer
    -- RUNNING: no source row, nothing changes. A running run is in the `published = false` partition,
    -- the only one Athena reads
    where runs.run_id = from_utf8(from_base64('{run_id}'))
        and runs.published = false
        and runs.status = 'RUNNING'
) as source
-- the run is still in the `published = false` partition: a static predicate of the ON clause, by which
-- Athena prunes a MERGE target's partitions when it plans (docs/scaling.md, "What AWS needs")
on target.run_id = source.run_id
    and target.published = false
when matched then update set
    status = 'SUCCEEDED',
    published = true,
    finished_at = cast(current_timestamp at time zone 'UTC' as timestamp),
    rows_read = source.rows_read,
    rows_loaded = source.rows_loaded,
    rows_rejected = source.rows_rejected,
    intervals_touched = source.intervals_touched,
    weeks_touched = source.weeks_touched,
    productive_hours = source.productive_hours,
    first_interval = source.first_interval,
    last_interval = source.last_interval,
    error = cast(null as varchar)

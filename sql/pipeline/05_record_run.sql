-- The audit row of a successful run, counted from what the run left in silver and gold.
insert into pipeline_runs (
    run_id,
    source_object,
    status,
    started_at,
    finished_at,
    rows_read,
    rows_loaded,
    rows_rejected,
    intervals_touched,
    weeks_touched,
    productive_hours,
    first_interval,
    last_interval,
    error
)
with run as (
    select
        cast(? as varchar) as run_id,
        cast(from_iso8601_timestamp(?) at time zone 'UTC' as timestamp) as started_at
),

loaded as (
    select
        max(events.source_object) as source_object,
        count(*) as rows_loaded
    from agent_events as events
    cross join run
    where events.run_id = run.run_id
),

rejected as (
    select count(*) as rows_rejected
    from rejected_rows as rejects
    cross join run
    where rejects.run_id = run.run_id
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

recomputed as (
    select
        count(*) as intervals_touched,
        coalesce(sum(intervals.productive_ms), 0) as productive_ms,
        count(distinct concat(intervals.extension, '|', cast(date_trunc('week', intervals.interval_start) as varchar))) as weeks_touched
    from agent_intervals as intervals
    inner join windows
        on intervals.extension = windows.extension
        and intervals.interval_start >= windows.window_start
        and intervals.interval_start < windows.window_end
),

window_bounds as (
    select
        min(window_start) as first_interval,
        max(window_end) - interval '30' minute as last_interval
    from windows
)

select
    run.run_id,
    loaded.source_object,
    'SUCCEEDED' as status,
    run.started_at,
    cast(current_timestamp at time zone 'UTC' as timestamp) as finished_at,
    loaded.rows_loaded + rejected.rows_rejected as rows_read,
    loaded.rows_loaded,
    rejected.rows_rejected,
    recomputed.intervals_touched,
    recomputed.weeks_touched,
    cast(recomputed.productive_ms as double) / 3600000 as productive_hours,
    window_bounds.first_interval,
    window_bounds.last_interval,
    cast(null as varchar) as error
from run
cross join loaded
cross join rejected
cross join recomputed
cross join window_bounds

-- Report: the latest pipeline runs, failed and unfinished (RUNNING) ones first, then newest first.
-- No parameters.
with ordered_runs as (
    select
        run_id,
        source_object,
        status,
        started_at,
        finished_at,
        rows_read,
        rows_loaded,
        rows_rejected,
        intervals_touched,
        productive_hours,
        date_diff('millisecond', started_at, finished_at) as duration_ms,
        error,
        case status when 'FAILED' then 0 when 'RUNNING' then 1 else 2 end as status_order
    from pipeline_runs
),

as_text as (
    select
        run_id,
        source_object,
        status,
        cast(started_at as varchar) as started_at,
        cast(finished_at as varchar) as finished_at,
        rows_read,
        rows_loaded,
        rows_rejected,
        intervals_touched,
        productive_hours,
        duration_ms,
        error,
        status_order
    from ordered_runs
)

select * from as_text
order by status_order, started_at desc, run_id
limit 100

-- Operations (`agent-etl status`): the runs started since a moment, newest first.
-- Parameters: since ('YYYY-MM-DD HH:MM:SS', UTC).
with recent_runs as (
    select
        run_id,
        source_object,
        source_etag,
        status,
        started_at,
        finished_at,
        rows_read,
        rows_loaded,
        rows_rejected,
        error
    from pipeline_runs
    where started_at >= cast(? as timestamp)
),

as_text as (
    select
        run_id,
        source_object,
        source_etag,
        status,
        cast(started_at as varchar) as started_at,
        cast(finished_at as varchar) as finished_at,
        rows_read,
        rows_loaded,
        rows_rejected,
        error
    from recent_runs
)

select * from as_text
order by started_at desc, run_id desc

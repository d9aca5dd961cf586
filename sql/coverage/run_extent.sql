-- Coverage check after a run: the intervals the run recomputed, to know which days to check.
-- Parameters: run_id.
with run as (
    select
        run_id,
        status,
        first_interval,
        last_interval
    from pipeline_runs
    where run_id = ?
),

as_text as (
    select
        run_id,
        status,
        cast(first_interval as varchar) as first_interval,
        cast(last_interval as varchar) as last_interval
    from run
)

select * from as_text

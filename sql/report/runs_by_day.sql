-- Report: how many runs started each day (UTC), by status.
-- No parameters.
with per_day as (
    select
        cast(started_at as date) as day,
        status,
        count(*) as runs
    from pipeline_runs
    group by cast(started_at as date), status
),

as_text as (
    select
        cast(day as varchar) as day,
        status,
        runs
    from per_day
)

select * from as_text
order by day, status

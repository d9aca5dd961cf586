-- Report: the first and last calendar day (wall clock) that have interval rows, for the default range.
-- No parameters.
with bounds as (
    select
        min(interval_start) as first_interval,
        max(interval_start) as last_interval
    from agent_intervals
),

as_text as (
    select
        cast(cast(first_interval as date) as varchar) as first_day,
        cast(cast(last_interval as date) as varchar) as last_day
    from bounds
)

select * from as_text

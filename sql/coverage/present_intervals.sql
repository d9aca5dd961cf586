-- Coverage check: the interval starts that have data in a window.
-- Parameters: window_start, window_end ('YYYY-MM-DD HH:MM:SS', wall clock; end exclusive).
with intervals_in_window as (
    select
        interval_start
    from agent_intervals
    where interval_start >= cast(? as timestamp)
        and interval_start < cast(? as timestamp)
),

present_intervals as (
    select distinct
        interval_start
    from intervals_in_window
),

as_text as (
    select
        cast(interval_start as varchar) as interval_start
    from present_intervals
)

select * from as_text
order by interval_start

-- Report: productive hours per calendar day (wall clock), with the extensions and intervals behind them.
-- Parameters: range_start, range_end ('YYYY-MM-DD HH:MM:SS', wall clock; end exclusive).
with intervals_in_range as (
    select
        extension,
        interval_start,
        productive_hours
    from agent_intervals
    where interval_start >= cast(? as timestamp)
        and interval_start < cast(? as timestamp)
),

per_day as (
    select
        cast(interval_start as date) as day,
        sum(productive_hours) as productive_hours,
        count(distinct extension) as extensions,
        count(distinct interval_start) as intervals_with_data
    from intervals_in_range
    group by cast(interval_start as date)
),

as_text as (
    select
        cast(day as varchar) as day,
        productive_hours,
        extensions,
        intervals_with_data
    from per_day
)

select * from as_text
order by day

-- Report: productive hours per week for the extensions that worked most over the weeks shown, and
-- the rest summed as one row (extension null).
-- Parameters: first_week, last_week ('YYYY-MM-DD', Mondays; both included), top_n.
with weeks_in_range as (
    select
        extension,
        week_start,
        productive_hours
    from weekly_summary
    where week_start >= cast(? as date)
        and week_start <= cast(? as date)
),

extension_totals as (
    select
        extension,
        sum(productive_hours) as total_hours
    from weeks_in_range
    group by extension
),

ranked as (
    select
        extension,
        row_number() over (order by total_hours desc, extension asc) as hours_rank
    from extension_totals
),

top_extensions as (
    -- Athena takes a ? parameter only in a WHERE clause ("Use parameterized queries")
    select extension
    from ranked
    where hours_rank <= cast(? as bigint)
),

labelled as (
    select
        weeks.week_start,
        top_extensions.extension,
        weeks.extension as source_extension,
        weeks.productive_hours
    from weeks_in_range as weeks
    left join top_extensions on weeks.extension = top_extensions.extension
),

per_week as (
    select
        week_start,
        extension,
        sum(productive_hours) as productive_hours,
        count(distinct source_extension) as extensions
    from labelled
    group by week_start, extension
),

as_text as (
    select
        cast(week_start as varchar) as week_start,
        extension,
        productive_hours,
        extensions
    from per_week
)

select * from as_text
order by week_start, extension nulls last

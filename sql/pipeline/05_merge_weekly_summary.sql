-- Weekly summary (weeks start on Monday) for every week an affected window touches, rebuilt from the
-- merged intervals and merged on (extension, week_start); a week left without intervals is deleted.
merge into weekly_summary as target
using (
    with touched_weeks as (
        select distinct
            affected.extension,
            weeks.week_start
        from affected_windows as affected
        cross join unnest(
            sequence(
                date_trunc('week', affected.window_start),
                date_trunc('week', affected.window_end - interval '1' second),
                interval '7' day
            )
        ) as weeks (week_start)
        where affected.run_id = from_utf8(from_base64('{run_id}'))
    ),

    week_range as (
        select
            min(week_start) as first_week,
            max(week_start) + interval '7' day as end_week
        from touched_weeks
    ),

    week_intervals as (
        -- only the intervals of the touched weeks are read
        select
            intervals.extension,
            intervals.interval_start,
            intervals.productive_ms
        from agent_intervals as intervals
        inner join week_range
            on intervals.interval_start >= week_range.first_week
            and intervals.interval_start < week_range.end_week
        -- the whole weeks of the run's days, as literals (sql/pipeline/run_days.sql)
        where intervals.interval_start >= cast(cast(date_trunc('week', cast(from_utf8(from_base64('{first_day}')) as date)) as date) as timestamp)
            and intervals.interval_start < cast(date_trunc('week', cast(from_utf8(from_base64('{last_day}')) as date)) + interval '7' day as timestamp)
    ),

    week_sums as (
        -- summed per extension and week first, then matched to the touched weeks on equality: a range
        -- join of every interval against the weeks took 0.5 s of a 5M-event cold load, this 0.2 s
        select
            extension,
            cast(date_trunc('week', interval_start) as date) as week_start,
            sum(productive_ms) as productive_ms,
            sum(case when productive_ms > 0 then 1 else 0 end) as productive_intervals,
            count(*) as active_intervals
        from week_intervals
        group by
            extension,
            cast(date_trunc('week', interval_start) as date)
    ),

    week_totals as (
        select
            touched_weeks.extension,
            cast(touched_weeks.week_start as date) as week_start,
            cast(coalesce(week_sums.productive_ms, 0) as bigint) as productive_ms,
            cast(coalesce(week_sums.productive_intervals, 0) as bigint) as productive_intervals,
            cast(coalesce(week_sums.active_intervals, 0) as bigint) as active_intervals
        from touched_weeks
        left join week_sums
            on week_sums.extension = touched_weeks.extension
            and week_sums.week_start = cast(touched_weeks.week_start as date)
    )

    select * from week_totals
) as source
on target.extension = source.extension
    and target.week_start = source.week_start
    -- the weeks of the run's days as literals: they bound the target's scan to their partitions
    and target.week_start >= cast(date_trunc('week', cast(from_utf8(from_base64('{first_day}')) as date)) as date)
    and target.week_start <= cast(from_utf8(from_base64('{last_day}')) as date)
when matched and source.active_intervals = 0 then delete
when matched
    and (
        target.productive_ms <> source.productive_ms
        or target.productive_intervals <> source.productive_intervals
        or target.active_intervals <> source.active_intervals
    )
    then update set
    productive_ms = source.productive_ms,
    productive_hours = cast(source.productive_ms as double) / 3600000,
    productive_intervals = source.productive_intervals,
    active_intervals = source.active_intervals
when not matched and source.active_intervals > 0 then insert (
    extension,
    week_start,
    productive_ms,
    productive_hours,
    productive_intervals,
    active_intervals
) values (
    source.extension,
    source.week_start,
    source.productive_ms,
    cast(source.productive_ms as double) / 3600000,
    source.productive_intervals,
    source.active_intervals
)

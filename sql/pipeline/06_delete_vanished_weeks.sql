-- Weeks an affected window touches that no longer have any interval are removed.
merge into weekly_summary as target
using (
    with run as (
        select cast(? as varchar) as run_id
    ),

    touched_weeks as (
        select distinct
            affected.extension,
            weeks.week_start
        from affected_windows as affected
        cross join run
        cross join unnest(
            sequence(
                date_trunc('week', affected.window_start),
                date_trunc('week', affected.window_end - interval '1' second),
                interval '7' day
            )
        ) as weeks (week_start)
        where affected.run_id = run.run_id
    ),

    empty_weeks as (
        select
            touched_weeks.extension,
            cast(touched_weeks.week_start as date) as week_start
        from touched_weeks
        where not exists (
            select 1
            from agent_intervals as intervals
            where intervals.extension = touched_weeks.extension
                and intervals.interval_start >= touched_weeks.week_start
                and intervals.interval_start < touched_weeks.week_start + interval '7' day
        )
    )

    select * from empty_weeks
) as source
on target.extension = source.extension
    and target.week_start = source.week_start
when matched then delete

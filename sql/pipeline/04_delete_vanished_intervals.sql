-- Intervals inside an affected window that the recomputation no longer produces (a re-ingested object
-- lost events) are removed.
merge into agent_intervals as target
using (
    with run as (
        select cast(? as varchar) as run_id
    ),

    windows as (
        select
            affected.extension,
            affected.window_start,
            affected.window_end
        from affected_windows as affected
        cross join run
        where affected.run_id = run.run_id
    ),

    recomputed as (
        select
            changes.extension,
            changes.interval_start
        from interval_changes as changes
        cross join run
        where changes.run_id = run.run_id
    ),

    vanished as (
        select
            intervals.extension,
            intervals.interval_start
        from agent_intervals as intervals
        inner join windows
            on intervals.extension = windows.extension
            and intervals.interval_start >= windows.window_start
            and intervals.interval_start < windows.window_end
        left join recomputed
            on recomputed.extension = intervals.extension
            and recomputed.interval_start = intervals.interval_start
        where recomputed.extension is null
    )

    select * from vanished
) as source
on target.extension = source.extension
    and target.interval_start = source.interval_start
when matched then delete

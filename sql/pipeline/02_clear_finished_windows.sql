-- Windows of earlier runs that have finished are no longer needed once FindAffectedWindows has read them:
-- it takes in the windows of an earlier run of the object that never succeeded, and a failed run was
-- undone before this one started (by the drain's repair, or locally by the next command). Cleared here,
-- before the later steps, so that each of them reads this run's windows alone. This run keeps its own
-- until the next run, so that a failure up to its very end, its commit included, can still be undone;
-- a retry deletes nothing more. A run is finished when it is no longer RUNNING: the running runs are
-- read from the `published = false` partition of pipeline_runs (the only one Athena reads), not every run.
merge into affected_windows as target
using (
    select distinct windows.run_id
    from affected_windows as windows
    left join (
        select runs.run_id
        from pipeline_runs as runs
        where runs.published = false
            and runs.status = 'RUNNING'
    ) as running
        on windows.run_id = running.run_id
    where windows.run_id <> from_utf8(from_base64('{run_id}'))
        and running.run_id is null
) as finished
on target.run_id = finished.run_id
when matched then delete

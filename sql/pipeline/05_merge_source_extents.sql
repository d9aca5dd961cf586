-- What the run's object covers now, per extension, replacing what it covered before: a later re-ingest
-- of the object recomputes at least this range.
merge into source_extents as target
using (
    with run as (
        select
            runs.source_object,
            runs.status
        from pipeline_runs as runs
        where runs.run_id = from_utf8(from_base64('{run_id}'))
    ),

    published_runs as (
        -- the run whose rows stand for the object: this run while it is running, else the object's
        -- latest successful run (so a failed run's extents are undone by the same statement)
        select
            from_utf8(from_base64('{run_id}')) as run_id
        from run
        where run.status = 'RUNNING'
        union all
        select max_by(runs.run_id, runs.started_at) as run_id
        from pipeline_runs as runs
        inner join run
            on runs.source_object = run.source_object
        where runs.status = 'SUCCEEDED'
            and run.status <> 'RUNNING'
    ),

    run_days as (
        -- the days the published run wrote (loaded_days), so that only their extents are read
        select
            days.event_date,
            days.source_object,
            days.run_id
        from loaded_days as days
        inner join run
            on days.source_object = run.source_object
        where days.run_id in (select run_id from published_runs)
    ),

    run_extents as (
        select
            extents.source_object,
            extents.extension,
            min(extents.first_event) as first_event,
            max(extents.last_event) as last_event
        from event_extents as extents
        inner join run_days
            on extents.event_date = run_days.event_date
            and extents.source_object = run_days.source_object
            and extents.run_id = run_days.run_id
        group by
            extents.source_object,
            extents.extension
    ),

    previous_extents as (
        -- the object's rows only, by a value fixed before the statement runs: Iceberg skips the data files
        -- whose source_object bounds exclude it, so the read does not grow with the objects loaded
        select
            extents.source_object,
            extents.extension
        from source_extents as extents
        where extents.source_object = from_utf8(from_base64('{source_object}'))
    ),

    changes as (
        select
            coalesce(run_extents.source_object, previous_extents.source_object) as source_object,
            coalesce(run_extents.extension, previous_extents.extension) as extension,
            run_extents.first_event,
            run_extents.last_event,
            run_extents.extension is null as vanished
        from run_extents
        full outer join previous_extents
            on previous_extents.source_object = run_extents.source_object
            and previous_extents.extension = run_extents.extension
    )

    select * from changes
) as source
on target.source_object = source.source_object
    and target.extension = source.extension
    -- the same bound on the target: every source row is of this object
    and target.source_object = from_utf8(from_base64('{source_object}'))
when matched and source.vanished then delete
when matched
    and (target.first_event <> source.first_event or target.last_event <> source.last_event)
    then update set
    first_event = source.first_event,
    last_event = source.last_event
when not matched then insert (
    source_object,
    extension,
    first_event,
    last_event
) values (
    source.source_object,
    source.extension,
    source.first_event,
    source.last_event
)

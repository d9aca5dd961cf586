-- The run's extensions into known_extensions, before the run's commit point (RecordRun), so that every
-- published event's extension is there with its day inside [first_day, last_day]. It runs after
-- FindAffectedWindows, which needs the bounds as the earlier runs left them. The bounds only widen: a run
-- that later fails, or whose object is loaded again with less, leaves them wider than the published
-- events, which costs a wider search and never a missed neighbour. A retry changes nothing more.
merge into known_extensions as target
using (
    with run as (
        -- this run's own values, as literals: no reference to it reads a table (Athena runs a WITH query
        -- again at each of its references, https://github.com/trinodb/trino/issues/18421); the statement's
        -- source is held to a run still RUNNING at its end
        select
            from_utf8(from_base64('{run_id}')) as run_id,
            from_utf8(from_base64('{source_object}')) as source_object
    ),

    run_days as (
        select days.event_date
        from loaded_days as days
        inner join run
            on days.run_id = run.run_id
            and days.source_object = run.source_object
    )

    select
        extents.extension,
        min(extents.event_date) as first_day,
        max(extents.event_date) as last_day
    from event_extents as extents
    inner join run_days
        on extents.event_date = run_days.event_date
    inner join run
        on extents.run_id = run.run_id
        and extents.source_object = run.source_object
    inner join pipeline_runs as runs
        on runs.run_id = run.run_id
        and runs.status = 'RUNNING'
    group by extents.extension
) as source
on target.extension = source.extension
when matched and (source.first_day < target.first_day or source.last_day > target.last_day) then update set
    first_day = least(target.first_day, source.first_day),
    last_day = greatest(target.last_day, source.last_day)
when not matched then insert (
    extension,
    first_day,
    last_day
) values (
    source.extension,
    source.first_day,
    source.last_day
)

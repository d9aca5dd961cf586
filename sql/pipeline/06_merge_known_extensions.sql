-- The run's extensions into known_extensions, before the run's commit point (RecordRun), so that every
-- published event's extension is there with its day inside [first_day, last_day]. It runs after
-- FindAffectedWindows, which needs the bounds as the earlier runs left them. The bounds only widen: a run
-- that later fails, or whose object is loaded again with less, leaves them wider than the published
-- events, which costs a wider search and never a missed neighbour. A retry changes nothing more.
merge into known_extensions as target
using (
    select
        extents.extension,
        min(extents.event_date) as first_day,
        max(extents.event_date) as last_day
    from event_extents as extents
    -- while the run is RUNNING (in the `published = false` partition, the only one Athena reads): a retry
    -- of a run that has failed since adds nothing
    inner join pipeline_runs as runs
        on runs.run_id = extents.run_id
        and runs.published = false
        and runs.status = 'RUNNING'
    where extents.run_id = from_utf8(from_base64('{run_id}'))
        and extents.source_object = from_utf8(from_base64('{source_object}'))
        -- the days the run loaded, as literals (FindObjectDays read them from loaded_days,
        -- sql/pipeline/object_days.sql): Athena prunes the projected partitions when it plans the query
        and extents.event_date between cast(from_utf8(from_base64('{loaded_first_day}')) as date)
            and cast(from_utf8(from_base64('{loaded_last_day}')) as date)
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

-- For each extension a run loaded (or that the same object held before), the interval range the run can
-- change: from the extension's last event before the run's first, to its first event after the run's last.
-- Merged on (run_id, extension), so a retry after a commit whose answer was lost adds nothing.
merge into affected_windows as target
using (
    with run as (
        select
            runs.run_id,
            runs.source_object
        from pipeline_runs as runs
        where runs.run_id = from_utf8(from_base64('{run_id}'))
            and runs.status = 'RUNNING'
    ),

    published_runs as (
        -- the run whose rows stand for each object: this run for its own object, else the object's
        -- latest successful run (rows of failed or unfinished runs never count)
        select
            source_object,
            run_id
        from run
        union all
        select
            source_object,
            max_by(run_id, started_at) as run_id
        from pipeline_runs
        where status = 'SUCCEEDED'
            and source_object not in (select source_object from run)
        group by source_object
    ),

    visible_events as (
        select
            events.source_object,
            events.extension,
            events.done_on
        from agent_events as events
        inner join published_runs
            on events.source_object = published_runs.source_object
            and events.run_id = published_runs.run_id
    ),

    run_events as (
        select
            events.source_object,
            events.extension,
            events.done_on
        from visible_events as events
        inner join run
            on events.source_object = run.source_object
    ),

    new_extents as (
        select
            extension,
            min(done_on) as first_event,
            max(done_on) as last_event
        from run_events
        group by extension
    ),

    previous_extents as (
        select
            extents.extension,
            extents.first_event,
            extents.last_event
        from source_extents as extents
        inner join run
            on extents.source_object = run.source_object
    ),

    touched as (
        select
            extension,
            min(first_event) as first_event,
            max(last_event) as last_event
        from (
            select * from new_extents
            union all
            select * from previous_extents
        ) as extents
        group by extension
    ),

    neighbours as (
        select
            touched.extension,
            touched.first_event,
            touched.last_event,
            max(case when events.done_on < touched.first_event then events.done_on end) as previous_event,
            min(case when events.done_on > touched.last_event then events.done_on end) as next_event
        from touched
        left join visible_events as events
            on events.extension = touched.extension
        group by
            touched.extension,
            touched.first_event,
            touched.last_event
    ),

    bounds as (
        select
            extension,
            coalesce(previous_event, first_event) as changed_from,
            coalesce(next_event, last_event) as changed_to
        from neighbours
    )

    select
        run.run_id,
        bounds.extension,
        date_trunc('hour', bounds.changed_from)
            + floor(minute(bounds.changed_from) / 30) * interval '30' minute as window_start,
        date_trunc('hour', bounds.changed_to)
            + floor(minute(bounds.changed_to) / 30) * interval '30' minute
            + interval '30' minute as window_end
    from bounds
    cross join run
) as source
on target.run_id = source.run_id
    and target.extension = source.extension
when not matched then insert (
    run_id,
    extension,
    window_start,
    window_end
) values (
    source.run_id,
    source.extension,
    source.window_start,
    source.window_end
)

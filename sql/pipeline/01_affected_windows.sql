-- For each extension a run loaded (or that the same object held before), the interval range the run can
-- change: from the extension's last event before the run's first, to its first event after the run's last.
insert into affected_windows (
    run_id,
    extension,
    window_start,
    window_end
)
with run as (
    select cast(? as varchar) as run_id
),

run_events as (
    select
        events.source_object,
        events.extension,
        events.done_on
    from agent_events as events
    cross join run
    where events.run_id = run.run_id
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
    where extents.source_object in (select distinct source_object from run_events)
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
    left join agent_events as events
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

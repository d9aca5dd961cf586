-- What the run's object covers, per extension: a later re-ingest of the object recomputes at least this.
insert into source_extents (
    source_object,
    extension,
    first_event,
    last_event
)
select
    events.source_object,
    events.extension,
    min(events.done_on) as first_event,
    max(events.done_on) as last_event
from agent_events as events
where events.run_id = cast(? as varchar)
group by
    events.source_object,
    events.extension

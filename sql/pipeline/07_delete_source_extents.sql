-- Forget what the run's object covered before; the next step records what it covers now.
delete from source_extents
where source_object in (
    select distinct events.source_object
    from agent_events as events
    where events.run_id = cast(? as varchar)
)

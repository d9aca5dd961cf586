-- Upsert the recomputed intervals on the natural key (extension, interval_start).
merge into agent_intervals as target
using (
    select
        changes.extension,
        changes.interval_start,
        changes.productive_ms,
        changes.event_count
    from interval_changes as changes
    where changes.run_id = cast(? as varchar)
) as source
on target.extension = source.extension
    and target.interval_start = source.interval_start
when matched then update set
    productive_ms = source.productive_ms,
    productive_seconds = cast(source.productive_ms as double) / 1000,
    productive_hours = least(cast(source.productive_ms as double) / 3600000, 0.5),
    event_count = source.event_count
when not matched then insert (
    extension,
    interval_start,
    productive_ms,
    productive_seconds,
    productive_hours,
    event_count
) values (
    source.extension,
    source.interval_start,
    source.productive_ms,
    cast(source.productive_ms as double) / 1000,
    least(cast(source.productive_ms as double) / 3600000, 0.5),
    source.event_count
)

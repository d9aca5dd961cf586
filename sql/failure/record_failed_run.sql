-- The outcome of a failed run: its row (RUNNING, or SUCCEEDED when the failure came after the commit
-- point) becomes FAILED, so its rows stop standing for its object; the undo steps that follow recompute
-- what it changed. A run that failed before its row was written gets one. Written by the run-failed
-- handler (handlers/run-failed/), which truncates the error; values arrive base64-encoded.
merge into pipeline_runs as target
using (
    select
        from_utf8(from_base64('{run_id}')) as run_id,
        from_utf8(from_base64('{source_object}')) as source_object,
        from_utf8(from_base64('{source_etag}')) as source_etag,
        cast(from_iso8601_timestamp(from_utf8(from_base64('{started_at}'))) at time zone 'UTC' as timestamp) as started_at,
        from_utf8(from_base64('{error}')) as error
) as source
on target.run_id = source.run_id
when matched and target.status <> 'FAILED' then update set
    status = 'FAILED',
    finished_at = cast(current_timestamp at time zone 'UTC' as timestamp),
    -- what it merged is undone: no gold counts stand for it
    intervals_touched = cast(null as bigint),
    weeks_touched = cast(null as bigint),
    productive_hours = cast(null as double),
    first_interval = cast(null as timestamp),
    last_interval = cast(null as timestamp),
    error = source.error
when not matched then insert (
    run_id,
    source_object,
    source_etag,
    status,
    started_at,
    finished_at,
    error
) values (
    source.run_id,
    source.source_object,
    source.source_etag,
    'FAILED',
    source.started_at,
    cast(current_timestamp at time zone 'UTC' as timestamp),
    source.error
)

-- The outcome of a failed run: its row (RUNNING, or SUCCEEDED when the failure came after the commit
-- point) becomes FAILED, so its rows stop standing for its object, and the run it replaced as it started
-- (00_record_run_started.sql) is published again; the undo steps that follow recompute what it changed.
-- A run that failed before its row was written gets one. Written by the run-failed handler
-- (handlers/run-failed/), which truncates the error; values arrive base64-encoded. A retry finds the run
-- FAILED and the replaced run given back, and changes nothing.
merge into pipeline_runs as target
using (
    select
        from_utf8(from_base64('{run_id}')) as run_id,
        false as given_back
    union all
    -- the run it replaced, in the `published = false` partition (the only one Athena reads)
    select
        runs.run_id,
        true as given_back
    from pipeline_runs as runs
    where runs.published = false
        and runs.replaced_by = from_utf8(from_base64('{run_id}'))
) as source
on target.run_id = source.run_id
when matched and source.given_back then update set
    published = true,
    replaced_by = cast(null as varchar)
when matched and target.status <> 'FAILED' then update set
    status = 'FAILED',
    published = false,
    finished_at = cast(current_timestamp at time zone 'UTC' as timestamp),
    -- what it merged is undone: no gold counts stand for it
    intervals_touched = cast(null as bigint),
    weeks_touched = cast(null as bigint),
    productive_hours = cast(null as double),
    first_interval = cast(null as timestamp),
    last_interval = cast(null as timestamp),
    error = from_utf8(from_base64('{error}'))
when not matched and not source.given_back then insert (
    run_id,
    source_object,
    source_etag,
    status,
    started_at,
    finished_at,
    error,
    published
) values (
    source.run_id,
    from_utf8(from_base64('{source_object}')),
    from_utf8(from_base64('{source_etag}')),
    'FAILED',
    cast(from_iso8601_timestamp(from_utf8(from_base64('{started_at}'))) at time zone 'UTC' as timestamp),
    cast(current_timestamp at time zone 'UTC' as timestamp),
    from_utf8(from_base64('{error}')),
    false
)

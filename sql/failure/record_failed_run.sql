-- The audit row of a failed run. Free text (object, error) arrives base64-encoded, so no value is ever
-- pasted into the statement.
insert into pipeline_runs (
    run_id,
    source_object,
    status,
    started_at,
    finished_at,
    rows_read,
    rows_loaded,
    rows_rejected,
    intervals_touched,
    weeks_touched,
    productive_hours,
    first_interval,
    last_interval,
    error
)
with run as (
    select
        cast(? as varchar) as run_id,
        cast(from_iso8601_timestamp(?) at time zone 'UTC' as timestamp) as started_at,
        from_utf8(from_base64(?)) as source_object,
        from_utf8(from_base64(?)) as error
)

select
    run_id,
    source_object,
    'FAILED' as status,
    started_at,
    cast(current_timestamp at time zone 'UTC' as timestamp) as finished_at,
    cast(null as bigint) as rows_read,
    cast(null as bigint) as rows_loaded,
    cast(null as bigint) as rows_rejected,
    cast(null as bigint) as intervals_touched,
    cast(null as bigint) as weeks_touched,
    cast(null as double) as productive_hours,
    cast(null as timestamp) as first_interval,
    cast(null as timestamp) as last_interval,
    error
from run

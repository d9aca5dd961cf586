-- The audit row of a run as it starts: RUNNING until the run records its outcome, so a run that was
-- killed or never finished stays visible. A retry finds the row and changes nothing.
-- Values arrive base64-encoded in the text (the state machine fills in each name in braces), so none can
-- break a literal.
merge into pipeline_runs as target
using (
    select
        from_utf8(from_base64('{run_id}')) as run_id,
        from_utf8(from_base64('{source_object}')) as source_object,
        from_utf8(from_base64('{source_etag}')) as source_etag,
        cast(from_iso8601_timestamp(from_utf8(from_base64('{started_at}'))) at time zone 'UTC' as timestamp) as started_at
) as source
on target.run_id = source.run_id
when not matched then insert (
    run_id,
    source_object,
    source_etag,
    status,
    started_at
) values (
    source.run_id,
    source.source_object,
    source.source_etag,
    'RUNNING',
    source.started_at
)

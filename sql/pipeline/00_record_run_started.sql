-- The audit row of a run as it starts: RUNNING until the run records its outcome, so a run that was
-- killed or never finished stays visible. The run takes its object's place from here: the object's
-- published run is marked replaced by it (its rows no longer count; the run gives it back if it fails,
-- failure/record_failed_run.sql). So is a run that an earlier run of the object, killed and not yet
-- closed, had replaced: this run takes it over, and gives it back if it fails. A retry finds the row,
-- and the object's run already replaced, and changes nothing.
-- Values arrive base64-encoded in the text (the state machine fills in each name in braces), so none can
-- break a literal.
merge into pipeline_runs as target
using (
    select
        from_utf8(from_base64('{run_id}')) as run_id,
        false as replaced
    union all
    -- the object's published run: the `published = true` partition, a row per object, read once a run
    select
        runs.run_id,
        true as replaced
    from pipeline_runs as runs
    where runs.published = true
        and runs.source_object = from_utf8(from_base64('{source_object}'))
        and runs.run_id <> from_utf8(from_base64('{run_id}'))
    union all
    -- the run a killed run of the object replaced (both in the `published = false` partition)
    select
        runs.run_id,
        true as replaced
    from pipeline_runs as runs
    inner join pipeline_runs as killed
        on runs.replaced_by = killed.run_id
    where runs.published = false
        and killed.published = false
        and killed.status = 'RUNNING'
        and runs.source_object = from_utf8(from_base64('{source_object}'))
        and killed.run_id <> from_utf8(from_base64('{run_id}'))
) as source
on target.run_id = source.run_id
when matched and source.replaced then update set
    published = false,
    replaced_by = from_utf8(from_base64('{run_id}'))
when not matched and not source.replaced then insert (
    run_id,
    source_object,
    source_etag,
    status,
    started_at,
    published
) values (
    source.run_id,
    from_utf8(from_base64('{source_object}')),
    from_utf8(from_base64('{source_etag}')),
    'RUNNING',
    cast(from_iso8601_timestamp(from_utf8(from_base64('{started_at}'))) at time zone 'UTC' as timestamp),
    false
)

-- What FindAffectedWindows starts from, as text: the first and last day of the events this run loaded, of
-- those the object's latest successful run loaded (the rows this run replaces), and of the windows of the
-- object's earlier runs that never succeeded; that latest successful run (this run when there is none);
-- and those earlier runs, each between commas (',' for none: a comma is never in an execution name).
-- Then the first and last day this run loaded, for MergeKnownExtensions and RecordRun.
-- The state machine reads the one row (GetObjectDays: athena:getQueryResults) and writes the values into
-- the statements as literals, so that loaded_days (a file per run ever made) is read once a run, here,
-- and so are the object's runs, rather than at each reference to them in FindAffectedWindows (Athena runs
-- a WITH query again at each of its references, https://github.com/trinodb/trino/issues/18421); Athena
-- prunes the partitions of the days when it plans each query. A range without days is empty
-- (1970-01-02 to 1970-01-01), so every value is always there. The unfinished runs are those whose windows are still
-- staged, which ClearFinishedWindows clears on every run: at most the previous run's, far within the
-- 10,000 characters States.Base64Encode takes
-- (https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html).
with object_runs as (
    -- this run, and the object's latest successful run (null when there is none): the one this run
    -- replaced as it started, in the `published = false` partition (the only one Athena reads)
    select
        from_utf8(from_base64('{run_id}')) as run_id,
        true as this_run
    union all
    select
        max(runs.run_id) as run_id,
        false as this_run
    from pipeline_runs as runs
    where runs.published = false
        and runs.replaced_by = from_utf8(from_base64('{run_id}'))
),

loaded as (
    -- the days both runs loaded, those this run loaded, and the latest successful run, on one row
    select
        min(days.event_date) as first_day,
        max(days.event_date) as last_day,
        min(case when object_runs.this_run then days.event_date end) as run_first_day,
        max(case when object_runs.this_run then days.event_date end) as run_last_day,
        max(case when not object_runs.this_run then object_runs.run_id end) as published_run
    from object_runs
    left join loaded_days as days
        on days.run_id = object_runs.run_id
        and days.source_object = from_utf8(from_base64('{source_object}'))
),

unfinished as (
    -- the object's earlier runs that never succeeded, and the days of their windows
    select
        min(cast(windows.window_start as date)) as first_day,
        max(cast(windows.window_end - interval '1' second as date)) as last_day,
        array_join(array_agg(distinct concat(windows.run_id, ',')), '') as runs
    from affected_windows as windows
    inner join pipeline_runs as runs
        on windows.run_id = runs.run_id
    where runs.published = false
        and runs.source_object = from_utf8(from_base64('{source_object}'))
        and runs.status <> 'SUCCEEDED'
        and runs.run_id <> from_utf8(from_base64('{run_id}'))
)

-- object_runs, loaded and unfinished each referenced once (Athena runs a WITH query again at each of its
-- references); the earlier of two days written out, as least() of a null differs between the engines
select
    cast(
        coalesce(
            case
                when unfinished.first_day is null or loaded.first_day < unfinished.first_day then loaded.first_day
                else unfinished.first_day
            end,
            date '1970-01-02'
        ) as varchar
    ) as first_day,
    cast(
        coalesce(
            case
                when unfinished.last_day is null or loaded.last_day > unfinished.last_day then loaded.last_day
                else unfinished.last_day
            end,
            date '1970-01-01'
        ) as varchar
    ) as last_day,
    coalesce(loaded.published_run, from_utf8(from_base64('{run_id}'))) as published_run,
    concat(',', coalesce(unfinished.runs, '')) as unfinished_runs,
    cast(coalesce(loaded.run_first_day, date '1970-01-02') as varchar) as loaded_first_day,
    cast(coalesce(loaded.run_last_day, date '1970-01-01') as varchar) as loaded_last_day
from loaded
cross join unfinished

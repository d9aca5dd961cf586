-- The days FindAffectedWindows starts from, as text: the first and last day of the events this run
-- loaded, of those the object's latest successful run loaded (the rows this run replaces), and of the
-- windows of the object's earlier runs that never succeeded. The state machine reads the one row
-- (GetObjectDays: athena:getQueryResults) and writes both days into FindAffectedWindows as literals, so
-- that it reads loaded_days once a run, here, rather than at each reference to the object's days (Athena
-- runs a WITH query again at each of its references, https://github.com/trinodb/trino/issues/18421), and
-- Athena prunes the object's extents and the week around them when it plans the query. An object
-- without days gets an empty range (1970-01-02 to 1970-01-01), so both values are always there.
with object_runs as (
    -- this run, and the object's latest successful run
    select from_utf8(from_base64('{run_id}')) as run_id
    union all
    select max_by(runs.run_id, runs.started_at) as run_id
    from pipeline_runs as runs
    where runs.source_object = from_utf8(from_base64('{source_object}'))
        and runs.status = 'SUCCEEDED'
),

spans as (
    select
        days.event_date as first_day,
        days.event_date as last_day
    from loaded_days as days
    inner join object_runs
        on days.run_id = object_runs.run_id
    where days.source_object = from_utf8(from_base64('{source_object}'))
    union all
    select
        cast(windows.window_start as date) as first_day,
        cast(windows.window_end - interval '1' second as date) as last_day
    from affected_windows as windows
    inner join pipeline_runs as runs
        on windows.run_id = runs.run_id
    where runs.source_object = from_utf8(from_base64('{source_object}'))
        and runs.status <> 'SUCCEEDED'
        and runs.run_id <> from_utf8(from_base64('{run_id}'))
)

select
    cast(coalesce(min(first_day), date '1970-01-02') as varchar) as first_day,
    cast(coalesce(max(last_day), date '1970-01-01') as varchar) as last_day
from spans

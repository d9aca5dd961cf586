-- The windows with no event before them (read_from is null: a first load, a new agent) that hold no gold
-- rows: the productive-time rule (rule/productive_time.ctes, included by 03_merge_intervals.sql too),
-- inserted without a join against gold and without a MERGE.
-- It runs after MergeIntervals, which took every other window. Which windows hold no rows is decided as
-- the statement runs, so a retry after a commit whose answer was lost finds its windows holding the rows
-- it inserted and inserts nothing again; a window left empty by the rule stays empty either way. Only the
-- gold rows in these windows are read.
insert into agent_intervals (
    extension,
    interval_start,
    productive_ms,
    productive_seconds,
    productive_hours,
    event_count
)
with
-- include rule/first_windows.ctes
,

windows as (
    -- the windows that hold no rows
    select
        first_windows.extension,
        first_windows.window_start,
        first_windows.window_end,
        first_windows.read_from,
        first_windows.read_to
    from first_windows
    where first_windows.extension not in (select extension from held_windows)
),

-- include rule/published_runs.ctes
,

-- include rule/productive_time.ctes

-- in interval order, as MergeIntervals inserts: new rows land beside their day's
select
    extension,
    interval_start,
    cast(productive_ms as bigint) as productive_ms,
    cast(cast(productive_ms as bigint) as double) / 1000 as productive_seconds,
    least(cast(cast(productive_ms as bigint) as double) / 3600000, 0.5) as productive_hours,
    cast(event_count as bigint) as event_count
from interval_totals
order by interval_start

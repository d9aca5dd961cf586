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
with first_windows as (
    select
        affected.extension,
        affected.window_start,
        affected.window_end,
        cast(affected.window_start as date) as read_from,
        affected.read_to
    from affected_windows as affected
    where affected.run_id = from_utf8(from_base64('{run_id}'))
        and affected.read_from is null
),

first_range as (
    select
        min(window_start) as first_interval,
        max(window_end) as end_interval
    from first_windows
    having count(*) > 0
),

held_windows as (
    -- the windows holding any row now (MergeIntervals took them)
    select distinct intervals.extension
    from agent_intervals as intervals
    inner join first_range
        on intervals.interval_start >= first_range.first_interval
        and intervals.interval_start < first_range.end_interval
    inner join first_windows
        on intervals.extension = first_windows.extension
        and intervals.interval_start >= first_windows.window_start
        and intervals.interval_start < first_windows.window_end
    -- the run's days as literals (sql/pipeline/run_days.sql): at most their partitions are read
    where intervals.interval_start >= cast(cast(from_utf8(from_base64('{first_day}')) as date) as timestamp)
        and intervals.interval_start < cast(cast(from_utf8(from_base64('{last_day}')) as date) + interval '1' day as timestamp)
),

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

window_range as (
    select
        min(read_from) as first_day,
        max(read_to) as last_day
    from windows
    having count(*) > 0
),

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

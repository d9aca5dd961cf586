-- The windows with no event before them (read_from is null: a first load, a new agent): the
-- productive-time rule (rule/productive_time.ctes, included by 03_merge_intervals.sql too), inserted
-- without a MERGE, only where gold holds no row for the (extension, interval).
-- It runs after MergeIntervals, which took every window with an event before it, and every window with
-- no event before it that held rows: recomputed there by the same rule from the same events, such a window
-- holds the rule's rows, so none of them is inserted here again. Which rows gold holds is decided as the
-- statement runs, so a retry after a commit whose answer was lost inserts nothing again; a window left
-- empty by the rule stays empty either way. Gold is read once, for the rows the rule makes (Athena runs
-- a WITH query again at each of its references, https://github.com/trinodb/trino/issues/18421, and the
-- rule references `windows` three times: a check of which windows hold rows there ran three times).
insert into agent_intervals (
    extension,
    interval_start,
    productive_ms,
    productive_seconds,
    productive_hours,
    event_count
)
with windows as (
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

-- include rule/withheld_runs.ctes
,

-- include rule/productive_time.ctes

-- in interval order, as MergeIntervals inserts: new rows land beside their day's (DuckDB's zone maps;
-- Athena may drop a subquery's ORDER BY, and the table's day() partitions place the rows there). The
-- sort carries the four columns the rule makes; the two derived from productive_ms are computed after it
select
    new_rows.extension,
    new_rows.interval_start,
    new_rows.productive_ms,
    cast(new_rows.productive_ms as double) / 1000 as productive_seconds,
    least(cast(new_rows.productive_ms as double) / 3600000, 0.5) as productive_hours,
    new_rows.event_count
from (
    select
        interval_totals.extension,
        interval_totals.interval_start,
        cast(interval_totals.productive_ms as bigint) as productive_ms,
        cast(interval_totals.event_count as bigint) as event_count
    from interval_totals
    left join (
        select
            intervals.extension,
            intervals.interval_start
        from agent_intervals as intervals
        -- the run's days as literals (sql/pipeline/run_days.sql): Athena reads only their partitions
        where intervals.interval_start >= cast(cast(from_utf8(from_base64('{first_day}')) as date) as timestamp)
            and intervals.interval_start < cast(cast(from_utf8(from_base64('{last_day}')) as date) + interval '1' day as timestamp)
    ) as held
        on held.extension = interval_totals.extension
        and held.interval_start = interval_totals.interval_start
    where held.extension is null
    order by interval_totals.interval_start
) as new_rows

-- The days a run's later statements can touch, as text: from the first day any of its windows reads
-- (the day of the event before the window, or the window's own first day) to the last (the day of the
-- first event after the window, or the day the window ends). The state machine reads the one row
-- (GetRunDays: athena:getQueryResults) and writes both days into the later statements as literals, which
-- bound their silver scans and their MERGE targets' scans. Athena prunes partitions on such static
-- predicates when it plans the query: event_date of the projected silver partitions, and the Iceberg
-- partitions of a MERGE target, whose scan a join alone does not bound. A run without windows gets an
-- empty range (1970-01-02 to 1970-01-01), so both values are always there.
select
    cast(coalesce(min(least(coalesce(read_from, cast(window_start as date)), cast(window_start as date))),
        date '1970-01-02') as varchar) as first_day,
    cast(coalesce(max(greatest(coalesce(read_to, cast(window_end as date)), cast(window_end as date))),
        date '1970-01-01') as varchar) as last_day
from affected_windows
where run_id = from_utf8(from_base64('{run_id}'))

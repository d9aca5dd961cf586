-- For each extension a run loaded (or that the same object held before, or that an earlier run of the object
-- recorded and never saw through), the interval range the run can change: from the extension's last event
-- before the run's first, to its first event after the run's last. It also records the days the
-- recomputation must read: the day of the last event before the window and of the first one after it.
-- Silver is read by day only. The object's days and runs come as literals (FindObjectDays reads them
-- from loaded_days, pipeline_runs and affected_windows once, sql/pipeline/object_days.sql): they bound
-- the object's extents and the week either side of them, which Athena prunes on when it plans the query,
-- and no reference to the object's extents reads a table but event_extents. event_extents (first and
-- last event per extension and day) finds the neighbouring events within that week, and further back
-- or ahead only for the extensions with nothing that near: back, to the last day known_extensions holds
-- for the extension (every older day only if that day's rows no longer count), ahead only for one seen
-- after the week, and not at all for an extension it has never seen. Those reads join on event_date,
-- which Athena prunes on at run time (dynamic filtering and dynamic partition pruning, Trino
-- documentation "Dynamic filtering"; Athena engine version 3 runs Trino).
-- Athena runs a WITH query again at each of its references (Trino inlines them:
-- https://github.com/trinodb/trino/issues/18421), where DuckDB materializes one referenced twice. So a
-- query whose result is needed twice is referenced once where it can be, its result carried along in
-- columns (the week's bounds, the week's first and last event, the neighbours found so far), and the
-- bench bills a read once for every time Athena would make it (bench/profile.ts, cteEvaluations).
-- Merged on (run_id, extension), so a retry after a commit whose answer was lost adds nothing.
merge into affected_windows as target
using (
    with run as (
        -- this run's own values, as literals: no reference to it reads a table (Athena runs a WITH query
        -- again at each of its references, https://github.com/trinodb/trino/issues/18421). What the
        -- statement writes is held to a run still RUNNING at its end.
        select from_utf8(from_base64('{run_id}')) as run_id
    ),

    -- include rule/withheld_runs.ctes
    ,

    object_extents as (
        -- the object's extents, this run's and those its latest successful run loaded (FindObjectDays
        -- read which run that is, sql/pipeline/object_days.sql), on the object's days: all as literals, so
        -- Athena prunes the partitions when it plans the query
        select
            extents.extension,
            min(extents.first_event) as first_event,
            max(extents.last_event) as last_event
        from event_extents as extents
        where extents.event_date between cast(from_utf8(from_base64('{object_first_day}')) as date)
            and cast(from_utf8(from_base64('{object_last_day}')) as date)
            and extents.source_object = from_utf8(from_base64('{source_object}'))
            and extents.run_id in (
                from_utf8(from_base64('{run_id}')),
                from_utf8(from_base64('{object_published_run}'))
            )
        group by extents.extension
    ),

    unfinished_windows as (
        -- windows of earlier runs of the object that never succeeded (a run killed after it merged
        -- intervals): recomputed now without their rows, so nothing of such a run stays in gold. The runs
        -- come as a literal list from FindObjectDays, ',' when there are none, as on nearly every run: the
        -- branch is then a constant false, which Athena and DuckDB drop when they plan, reading nothing
        select
            windows.extension,
            min(windows.window_start) as first_event,
            max(windows.window_end) - interval '1' second as last_event
        from affected_windows as windows
        where from_utf8(from_base64('{object_unfinished_runs}')) <> ','
            and strpos(from_utf8(from_base64('{object_unfinished_runs}')), concat(',', windows.run_id, ',')) > 0
        group by windows.extension
    ),

    touched as (
        -- with the week either side of the object's days (where nearly every neighbour lies) on every row:
        -- the same literals bound nearby's scan
        select
            extension,
            min(first_event) as first_event,
            max(last_event) as last_event,
            cast(cast(from_utf8(from_base64('{object_first_day}')) as date) - interval '7' day as date) as week_first,
            cast(cast(from_utf8(from_base64('{object_last_day}')) as date) + interval '7' day as date) as week_last
        from (
            select * from object_extents
            union all
            select * from unfinished_windows
        ) as extents
        group by extension
    ),

    nearby as (
        -- every extension's published extents of the week (the partitions read are the same whichever
        -- extensions are kept; near_bounds and reads keep the run's)
        select
            extents.extension,
            extents.event_date,
            extents.first_event,
            extents.last_event
        from event_extents as extents
        left join withheld_runs
            on extents.run_id = withheld_runs.run_id
        -- the week from the object's days as literals (sql/pipeline/object_days.sql): Athena prunes the
        -- projected partitions when it plans the query
        where extents.event_date
            between cast(cast(from_utf8(from_base64('{object_first_day}')) as date) - interval '7' day as date)
            and cast(cast(from_utf8(from_base64('{object_last_day}')) as date) + interval '7' day as date)
            and withheld_runs.run_id is null
    ),

    near_bounds as (
        -- a day whose events lie on both sides of first_event (or last_event) says only that the
        -- neighbour is on that day; the week's first and last event say whether it holds any event
        -- before (after) the window
        select
            touched.extension,
            touched.first_event,
            touched.last_event,
            touched.week_first,
            touched.week_last,
            max(case when nearby.last_event < touched.first_event then nearby.last_event end) as previous_event,
            max(
                case
                    when nearby.first_event < touched.first_event and nearby.last_event >= touched.first_event
                        then nearby.event_date
                end
            ) as previous_day,
            min(case when nearby.first_event > touched.last_event then nearby.first_event end) as next_event,
            min(
                case
                    when nearby.last_event > touched.last_event and nearby.first_event <= touched.last_event
                        then nearby.event_date
                end
            ) as next_day,
            min(nearby.first_event) as week_first_event,
            max(nearby.last_event) as week_last_event
        from touched
        left join nearby
            on nearby.extension = touched.extension
        group by
            touched.extension,
            touched.first_event,
            touched.last_event,
            touched.week_first,
            touched.week_last
    ),

    straddled_days as (
        -- the straddled day before and the one after, from one reference to near_bounds
        select distinct
            near_bounds.extension,
            near_bounds.first_event,
            near_bounds.last_event,
            case when sides.side = 1 then near_bounds.previous_day else near_bounds.next_day end as event_date
        from near_bounds
        cross join (values (1), (2)) as sides (side)
        where (sides.side = 1 and near_bounds.previous_day is not null)
            or (sides.side = 2 and near_bounds.next_day is not null)
    ),

    straddled as (
        -- the straddled days' events, then those that count: the days bound the events' scan (its
        -- partitions), which a join to withheld_runs first would not
        select
            day_events.extension,
            max(case when day_events.done_on < day_events.first_event then day_events.done_on end) as previous_event,
            min(case when day_events.done_on > day_events.last_event then day_events.done_on end) as next_event
        from (
            select
                straddled_days.extension,
                straddled_days.first_event,
                straddled_days.last_event,
                events.done_on,
                events.run_id
            from straddled_days
            inner join agent_events as events
                on events.event_date = straddled_days.event_date
                and events.extension = straddled_days.extension
        ) as day_events
        left join withheld_runs
            on day_events.run_id = withheld_runs.run_id
        where withheld_runs.run_id is null
        group by day_events.extension
    ),

    near_neighbours as (
        select
            near_bounds.extension,
            near_bounds.first_event,
            near_bounds.last_event,
            near_bounds.week_first,
            near_bounds.week_last,
            near_bounds.week_first_event,
            near_bounds.week_last_event,
            case
                when near_bounds.previous_event is null then straddled.previous_event
                when straddled.previous_event is null then near_bounds.previous_event
                else greatest(near_bounds.previous_event, straddled.previous_event)
            end as previous_event,
            case
                when near_bounds.next_event is null then straddled.next_event
                when straddled.next_event is null then near_bounds.next_event
                else least(near_bounds.next_event, straddled.next_event)
            end as next_event
        from near_bounds
        left join straddled
            on straddled.extension = near_bounds.extension
    ),

    near_windows as (
        select
            extension,
            first_event,
            last_event,
            previous_event,
            next_event,
            week_first,
            week_last,
            week_first_event,
            week_last_event,
            date_trunc('hour', coalesce(previous_event, first_event))
                + floor(minute(coalesce(previous_event, first_event)) / 30) * interval '30' minute as window_start,
            date_trunc('hour', coalesce(next_event, last_event))
                + floor(minute(coalesce(next_event, last_event)) / 30) * interval '30' minute
                + interval '30' minute as window_end
        from near_neighbours
    ),

    unresolved as (
        -- the extensions with no event before the window within the week that the lake has seen before the
        -- week: their older extents are read too (none, most days, and then nothing is read); one it has
        -- never seen (a new agent) has no published event before known_extensions.first_day. The same ahead,
        -- for one seen after the week (a backfill).
        select
            near_windows.extension,
            near_windows.first_event,
            near_windows.last_event,
            near_windows.previous_event,
            near_windows.next_event,
            near_windows.week_first,
            near_windows.week_last,
            coalesce(near_windows.week_first_event < near_windows.window_start, false) = false
                and known.first_day < near_windows.week_first as search_back,
            known.first_day,
            -- no published event of the extension lies after last_day: if that is before the week, its
            -- previous event is on that day, unless none of that day's rows count any more
            case when known.last_day < near_windows.week_first then known.last_day end as last_day,
            coalesce(near_windows.week_last_event >= near_windows.window_end, false) = false
                and known.last_day > near_windows.week_last as search_ahead
        from near_windows
        inner join known_extensions as known
            on known.extension = near_windows.extension
    ),

    back_search as (
        select * from unresolved
        where search_back
    ),

    ahead_search as (
        select * from unresolved
        where search_ahead
    ),

    last_seen as (
        -- the last day before the week: one day, for an agent back after more than a week (the day bounds
        -- the extents' scan, then the rows that count are kept: a join to withheld_runs first would not)
        select seen.*
        from (
            select
                back_search.extension,
                back_search.first_event,
                back_search.last_event,
                back_search.previous_event,
                back_search.next_event,
                extents.event_date,
                extents.first_event as day_first,
                extents.last_event as day_last,
                extents.run_id
            from event_extents as extents
            inner join back_search
                on extents.extension = back_search.extension
                and extents.event_date = back_search.last_day
        ) as seen
        left join withheld_runs
            on seen.run_id = withheld_runs.run_id
        where withheld_runs.run_id is null
    ),

    searched_back as (
        -- the others (the last day is inside the week, or its rows no longer count): every older day from
        -- the first
        select * from back_search
        where extension not in (select extension from last_seen)
    ),

    far as (
        select * from last_seen
        union all
        select beyond.*
        from (
            select
                searched_back.extension,
                searched_back.first_event,
                searched_back.last_event,
                searched_back.previous_event,
                searched_back.next_event,
                extents.event_date,
                extents.first_event as day_first,
                extents.last_event as day_last,
                extents.run_id
            from event_extents as extents
            inner join searched_back
                on extents.extension = searched_back.extension
                and extents.event_date >= searched_back.first_day
                and extents.event_date < searched_back.week_first
            union all
            select
                ahead_search.extension,
                ahead_search.first_event,
                ahead_search.last_event,
                ahead_search.previous_event,
                ahead_search.next_event,
                extents.event_date,
                extents.first_event as day_first,
                extents.last_event as day_last,
                extents.run_id
            from event_extents as extents
            inner join ahead_search
                on extents.extension = ahead_search.extension
                and extents.event_date > ahead_search.week_last
        ) as beyond
        -- joined after the union, so that each search bounds its own scan
        left join withheld_runs
            on beyond.run_id = withheld_runs.run_id
        where withheld_runs.run_id is null
    ),

    far_neighbours as (
        -- the neighbours found beyond the week, then the window they give and the days it reads there, in
        -- one pass over far (which carries the week's findings)
        select
            extension,
            window_start,
            window_end,
            max(case when day_first < window_start then event_date end) as read_from,
            min(case when day_last >= window_end then event_date end) as read_to
        from (
            select
                extension,
                event_date,
                day_first,
                day_last,
                date_trunc('hour', changed_from)
                    + floor(minute(changed_from) / 30) * interval '30' minute as window_start,
                date_trunc('hour', changed_to)
                    + floor(minute(changed_to) / 30) * interval '30' minute
                    + interval '30' minute as window_end
            from (
                select
                    extension,
                    event_date,
                    day_first,
                    day_last,
                    coalesce(
                        previous_event,
                        max(case when day_last < first_event then day_last end) over (partition by extension),
                        first_event
                    ) as changed_from,
                    coalesce(
                        next_event,
                        min(case when day_first > last_event then day_first end) over (partition by extension),
                        last_event
                    ) as changed_to
                from far
            ) as far_bounds
        ) as far_windows
        group by
            extension,
            window_start,
            window_end
    ),

    windows as (
        select
            near_windows.extension,
            coalesce(far_neighbours.window_start, near_windows.window_start) as window_start,
            coalesce(far_neighbours.window_end, near_windows.window_end) as window_end,
            far_neighbours.read_from as far_read_from,
            far_neighbours.read_to as far_read_to
        from near_windows
        left join far_neighbours
            on far_neighbours.extension = near_windows.extension
    ),

    reads as (
        -- the day of the last event before each window (it sets the state the window opens in) and of the
        -- first at or after its end (it closes the window's last span), in the week or beyond it
        select
            extension,
            window_start,
            window_end,
            case
                when near_read_from is null then far_read_from
                when far_read_from is null then near_read_from
                else greatest(near_read_from, far_read_from)
            end as read_from,
            case
                when near_read_to is null then far_read_to
                when far_read_to is null then near_read_to
                else least(near_read_to, far_read_to)
            end as read_to
        from (
            select
                windows.extension,
                windows.window_start,
                windows.window_end,
                windows.far_read_from,
                windows.far_read_to,
                max(case when nearby.first_event < windows.window_start then nearby.event_date end) as near_read_from,
                min(case when nearby.last_event >= windows.window_end then nearby.event_date end) as near_read_to
            from windows
            left join nearby
                on nearby.extension = windows.extension
            group by
                windows.extension,
                windows.window_start,
                windows.window_end,
                windows.far_read_from,
                windows.far_read_to
        ) as week_reads
    )

    select
        run.run_id,
        reads.extension,
        reads.window_start,
        reads.window_end,
        -- null when the extension has no event before the window: its window most likely holds no gold
        -- rows, and AppendIntervals takes it when it holds none
        reads.read_from,
        coalesce(reads.read_to, cast(reads.window_end as date)) as read_to
    from reads
    cross join run
    -- a retry of a run that has failed since (and was undone) adds nothing; a running run is in the
    -- `published = false` partition, the only one Athena reads
    inner join pipeline_runs as runs
        on runs.run_id = run.run_id
        and runs.published = false
        and runs.status = 'RUNNING'
) as source
on target.run_id = source.run_id
    and target.extension = source.extension
when not matched then insert (
    run_id,
    extension,
    window_start,
    window_end,
    read_from,
    read_to
) values (
    source.run_id,
    source.extension,
    source.window_start,
    source.window_end,
    source.read_from,
    source.read_to
)

-- For each extension a run loaded (or that the same object held before, or that an earlier run of the object
-- recorded and never saw through), the interval range the run can change: from the extension's last event
-- before the run's first, to its first event after the run's last. It also records the days the
-- recomputation must read: the day of the last event before the window and of the first one after it.
-- Silver is read by day only: loaded_days says which days a run wrote; event_extents (first and last event
-- per extension and day) finds the neighbouring events, within a week of the run's days, and further back or
-- ahead only for the extensions with nothing that near: back, to the last day known_extensions holds for the
-- extension (every older day only if that day's rows no longer count), and not at all for an extension it
-- has never seen. Every silver read joins on event_date, which Athena
-- prunes on at run time (dynamic filtering and dynamic partition pruning, Trino documentation
-- "Dynamic filtering"; Athena engine version 3 runs Trino).
-- Merged on (run_id, extension), so a retry after a commit whose answer was lost adds nothing.
merge into affected_windows as target
using (
    with run as (
        select
            runs.run_id,
            runs.source_object
        from pipeline_runs as runs
        where runs.run_id = from_utf8(from_base64('{run_id}'))
            and runs.status = 'RUNNING'
    ),

    published_runs as (
        -- the run whose rows stand for each object: this run for its own object, else the object's
        -- latest successful run (rows of failed or unfinished runs never count)
        select
            source_object,
            run_id
        from run
        union all
        select
            source_object,
            max_by(run_id, started_at) as run_id
        from pipeline_runs
        where status = 'SUCCEEDED'
            and source_object not in (select source_object from run)
        group by source_object
    ),

    object_runs as (
        -- this run, and the object's latest successful run, whose rows this run replaces
        select
            run_id,
            source_object
        from run
        union all
        select
            max_by(runs.run_id, runs.started_at) as run_id,
            runs.source_object
        from pipeline_runs as runs
        inner join run
            on runs.source_object = run.source_object
        where runs.status = 'SUCCEEDED'
        group by runs.source_object
    ),

    object_days as (
        select
            days.event_date,
            days.source_object,
            days.run_id
        from loaded_days as days
        inner join object_runs
            on days.source_object = object_runs.source_object
            and days.run_id = object_runs.run_id
    ),

    lake_days as (
        -- the last day of the lake's published rows
        select max(days.event_date) as last_day
        from loaded_days as days
        inner join published_runs
            on days.source_object = published_runs.source_object
            and days.run_id = published_runs.run_id
    ),

    object_extents as (
        select
            extents.extension,
            min(extents.first_event) as first_event,
            max(extents.last_event) as last_event
        from event_extents as extents
        inner join object_days
            on extents.event_date = object_days.event_date
            and extents.source_object = object_days.source_object
            and extents.run_id = object_days.run_id
        group by extents.extension
    ),

    unfinished_windows as (
        -- windows of earlier runs of the object that never succeeded (a run killed after it merged
        -- intervals): recomputed now without their rows, so nothing of such a run stays in gold
        select
            windows.extension,
            min(windows.window_start) as first_event,
            max(windows.window_end) - interval '1' second as last_event
        from affected_windows as windows
        inner join pipeline_runs as runs
            on windows.run_id = runs.run_id
        inner join run
            on runs.source_object = run.source_object
        where runs.status <> 'SUCCEEDED'
            and runs.run_id <> run.run_id
        group by windows.extension
    ),

    touched as (
        select
            extension,
            min(first_event) as first_event,
            max(last_event) as last_event
        from (
            select * from object_extents
            union all
            select * from unfinished_windows
        ) as extents
        group by extension
    ),

    lookback as (
        -- a week either side of the run's days: where nearly every neighbour lies
        select
            cast(cast(min(first_event) as date) - interval '7' day as date) as first_day,
            cast(cast(max(last_event) as date) + interval '7' day as date) as last_day
        from touched
    ),

    nearby as (
        select
            extents.extension,
            extents.event_date,
            extents.first_event,
            extents.last_event
        from event_extents as extents
        inner join lookback
            on extents.event_date >= lookback.first_day
            and extents.event_date <= lookback.last_day
        inner join published_runs
            on extents.source_object = published_runs.source_object
            and extents.run_id = published_runs.run_id
        inner join touched
            on extents.extension = touched.extension
    ),

    near_bounds as (
        -- a day whose events lie on both sides of first_event (or last_event) says only that the
        -- neighbour is on that day
        select
            touched.extension,
            touched.first_event,
            touched.last_event,
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
            ) as next_day
        from touched
        left join nearby
            on nearby.extension = touched.extension
        group by
            touched.extension,
            touched.first_event,
            touched.last_event
    ),

    straddled_days as (
        select
            extension,
            previous_day as event_date
        from near_bounds
        where previous_day is not null
        union
        select
            extension,
            next_day as event_date
        from near_bounds
        where next_day is not null
    ),

    straddled as (
        select
            near_bounds.extension,
            max(case when events.done_on < near_bounds.first_event then events.done_on end) as previous_event,
            min(case when events.done_on > near_bounds.last_event then events.done_on end) as next_event
        from straddled_days
        inner join agent_events as events
            on events.event_date = straddled_days.event_date
            and events.extension = straddled_days.extension
        inner join published_runs
            on events.source_object = published_runs.source_object
            and events.run_id = published_runs.run_id
        inner join near_bounds
            on near_bounds.extension = straddled_days.extension
        group by near_bounds.extension
    ),

    near_neighbours as (
        select
            near_bounds.extension,
            near_bounds.first_event,
            near_bounds.last_event,
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
            date_trunc('hour', coalesce(previous_event, first_event))
                + floor(minute(coalesce(previous_event, first_event)) / 30) * interval '30' minute as window_start,
            date_trunc('hour', coalesce(next_event, last_event))
                + floor(minute(coalesce(next_event, last_event)) / 30) * interval '30' minute
                + interval '30' minute as window_end
        from near_neighbours
    ),

    near_reach as (
        select
            near_windows.extension,
            max(case when nearby.first_event < near_windows.window_start then 1 else 0 end) as has_before,
            max(case when nearby.last_event >= near_windows.window_end then 1 else 0 end) as has_after
        from near_windows
        left join nearby
            on nearby.extension = near_windows.extension
        group by near_windows.extension
    ),

    unresolved_before as (
        -- extensions with no event before the window within the week that the lake has seen before the
        -- week: their older extents are read too (none, most days, and then nothing is read). One it has
        -- never seen (a new agent) has no published event before known_extensions.first_day.
        select
            near_reach.extension,
            lookback.first_day as before_day,
            known.first_day,
            -- no published event of the extension lies after last_day: if that is before the week, its
            -- previous event is on that day, unless none of that day's rows count any more
            case when known.last_day < lookback.first_day then known.last_day end as last_day
        from near_reach
        cross join lookback
        inner join known_extensions as known
            on known.extension = near_reach.extension
        where near_reach.has_before = 0
            and known.first_day < lookback.first_day
    ),

    last_seen as (
        -- the last day before the week: one day, for an agent back after more than a week
        select
            extents.extension,
            extents.event_date,
            extents.first_event,
            extents.last_event
        from event_extents as extents
        inner join unresolved_before
            on extents.extension = unresolved_before.extension
            and extents.event_date = unresolved_before.last_day
        inner join published_runs
            on extents.source_object = published_runs.source_object
            and extents.run_id = published_runs.run_id
    ),

    searched_back as (
        -- the others (the last day is inside the week, or its rows no longer count): every older day from
        -- the first
        select
            extension,
            first_day,
            before_day
        from unresolved_before
        where extension not in (select extension from last_seen)
    ),

    unresolved_after as (
        -- the same after the week, in a lake holding later days (a backfill)
        select
            near_reach.extension,
            lookback.last_day as after_day
        from near_reach
        cross join lookback
        cross join lake_days
        where near_reach.has_after = 0
            and lake_days.last_day > lookback.last_day
    ),

    far as (
        select * from last_seen
        union all
        select
            extents.extension,
            extents.event_date,
            extents.first_event,
            extents.last_event
        from event_extents as extents
        inner join searched_back
            on extents.extension = searched_back.extension
            and extents.event_date >= searched_back.first_day
            and extents.event_date < searched_back.before_day
        inner join published_runs
            on extents.source_object = published_runs.source_object
            and extents.run_id = published_runs.run_id
        union all
        select
            extents.extension,
            extents.event_date,
            extents.first_event,
            extents.last_event
        from event_extents as extents
        inner join unresolved_after
            on extents.extension = unresolved_after.extension
            and extents.event_date > unresolved_after.after_day
        inner join published_runs
            on extents.source_object = published_runs.source_object
            and extents.run_id = published_runs.run_id
    ),

    far_neighbours as (
        select
            far.extension,
            max(case when far.last_event < near_windows.first_event then far.last_event end) as previous_event,
            min(case when far.first_event > near_windows.last_event then far.first_event end) as next_event
        from far
        inner join near_windows
            on near_windows.extension = far.extension
        group by far.extension
    ),

    bounds as (
        select
            near_windows.extension,
            coalesce(near_windows.previous_event, far_neighbours.previous_event, near_windows.first_event) as changed_from,
            coalesce(near_windows.next_event, far_neighbours.next_event, near_windows.last_event) as changed_to
        from near_windows
        left join far_neighbours
            on far_neighbours.extension = near_windows.extension
    ),

    windows as (
        select
            extension,
            date_trunc('hour', changed_from)
                + floor(minute(changed_from) / 30) * interval '30' minute as window_start,
            date_trunc('hour', changed_to)
                + floor(minute(changed_to) / 30) * interval '30' minute
                + interval '30' minute as window_end
        from bounds
    ),

    reads as (
        -- the day of the last event before each window (it sets the state the window opens in) and of the
        -- first at or after its end (it closes the window's last span)
        select
            windows.extension,
            windows.window_start,
            windows.window_end,
            max(case when extents.first_event < windows.window_start then extents.event_date end) as read_from,
            min(case when extents.last_event >= windows.window_end then extents.event_date end) as read_to
        from windows
        left join (
            select * from nearby
            union all
            select * from far
        ) as extents
            on extents.extension = windows.extension
        group by
            windows.extension,
            windows.window_start,
            windows.window_end
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

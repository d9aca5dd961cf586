-- Operations (`rerun --failed`, `backfill`, `status`): per bronze object under a prefix, its latest run,
-- and the ETag of the object version its latest successful run read.
-- Parameters: source_object prefix ('bucket/key-prefix'; '' for every object).
with runs_under_prefix as (
    select
        run_id,
        source_object,
        source_etag,
        status,
        started_at,
        error
    from pipeline_runs
    where starts_with(source_object, ?)
),

ranked_runs as (
    select
        run_id,
        source_object,
        source_etag,
        status,
        started_at,
        error,
        row_number() over (partition by source_object order by started_at desc, run_id desc) as recency,
        row_number() over (
            partition by source_object, status order by started_at desc, run_id desc
        ) as recency_in_status
    from runs_under_prefix
),

latest_run as (
    select
        source_object,
        run_id,
        status,
        started_at,
        error
    from ranked_runs
    where recency = 1
),

latest_success as (
    select
        source_object,
        source_etag
    from ranked_runs
    where status = 'SUCCEEDED'
        and recency_in_status = 1
),

as_text as (
    select
        latest_run.source_object,
        latest_run.run_id as latest_run_id,
        latest_run.status as latest_status,
        cast(latest_run.started_at as varchar) as latest_started_at,
        latest_run.error as latest_error,
        latest_success.source_etag as succeeded_etag
    from latest_run
    left join latest_success
        on latest_run.source_object = latest_success.source_object
)

select * from as_text
order by source_object

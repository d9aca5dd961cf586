-- Rejected rows of the runs that stand: each object's latest successful run. Silver keeps an object's
-- newest run beside its published one until the newest succeeds, and a failed run contributes nothing.
create or replace view published_rejected_rows as
select
    rejects.source_object,
    rejects.source_line,
    rejects.reason,
    rejects.raw_line,
    rejects.run_id
from rejected_rows as rejects
inner join (
    select
        source_object,
        max_by(run_id, started_at) as run_id
    from pipeline_runs
    where status = 'SUCCEEDED'
    group by source_object
) as published
    on rejects.source_object = published.source_object
    and rejects.run_id = published.run_id

-- Report: rejected rows per reason, with how many files they came from.
-- No parameters.
with per_reason as (
    select
        reason,
        count(*) as rejected_rows,
        count(distinct source_object) as files
    from rejected_rows
    group by reason
)

select * from per_reason
order by rejected_rows desc, reason

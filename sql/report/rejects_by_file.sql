-- Report: rejected rows per bronze object, the most first.
-- No parameters.
with per_file as (
    select
        source_object,
        count(*) as rejected_rows,
        min(source_line) as first_line
    from published_rejected_rows
    group by source_object
)

select * from per_file
order by rejected_rows desc, source_object
limit 50

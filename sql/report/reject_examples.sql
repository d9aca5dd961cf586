-- Report: the first rejected rows of each reason (by object, then line), as examples.
-- Parameters: examples_per_reason.
with numbered as (
    select
        reason,
        source_object,
        source_line,
        raw_line,
        row_number() over (partition by reason order by source_object, source_line) as example_number
    from rejected_rows
),

examples as (
    select
        reason,
        source_object,
        source_line,
        raw_line
    from numbered
    where example_number <= cast(? as bigint)
)

select * from examples
order by reason, source_object, source_line

-- Report: the first rejected rows of each kind of reason (by object, then line), as examples.
-- Parameters: examples_per_kind.
with numbered as (
    select
        regexp_replace(reason, '"[\s\S]*"', '"..."') as reason_kind,
        reason,
        source_object,
        source_line,
        raw_line
    from published_rejected_rows
),

ranked as (
    select
        reason_kind,
        reason,
        source_object,
        source_line,
        raw_line,
        row_number() over (partition by reason_kind order by source_object, source_line) as example_number
    from numbered
),

examples as (
    select
        reason_kind,
        reason,
        source_object,
        source_line,
        raw_line
    from ranked
    where example_number <= cast(? as bigint)
)

select * from examples
order by reason_kind, source_object, source_line

-- Report: rejected rows per kind of reason, with how many files they came from. A reason quotes the
-- value it refused (Done On "13/45/2024" ...); the kind puts "..." in its place, so one kind of
-- mistake is one row however many values it took. The value may itself hold quotes or line breaks:
-- everything from the first quote to the last is the value (only Done On reasons quote one).
with kinds as (
    select
        regexp_replace(reason, '"[\s\S]*"', '"..."') as reason_kind,
        source_object
    from published_rejected_rows
),

per_kind as (
    select
        reason_kind,
        count(*) as rejected_rows,
        count(distinct source_object) as files
    from kinds
    group by reason_kind
)

select * from per_kind
order by rejected_rows desc, reason_kind

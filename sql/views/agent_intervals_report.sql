-- The problem statement's shape of the result.
create or replace view agent_intervals_report as
select
    extension as "Extension",
    interval_start as "Interval",
    productive_hours as "Productive Hours"
from agent_intervals

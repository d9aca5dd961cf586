-- The problem statement's shape of the result: `10/1/2024 10:00:00 AM` and hours to two decimals.
-- Full precision stays in agent_intervals (`agent-etl export intervals`).
create or replace view agent_intervals_report as
select
    extension as "Extension",
    date_format(interval_start, '%c/%e/%Y %l:%i:%s %p') as "Interval",
    round(productive_hours, 2) as "Productive Hours"
from agent_intervals

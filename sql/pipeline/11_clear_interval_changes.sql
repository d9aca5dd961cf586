delete from interval_changes
where run_id = cast(? as varchar)

delete from affected_windows
where run_id = cast(? as varchar)

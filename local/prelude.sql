-- DuckDB spellings of the few Trino (Athena) functions that sql/ uses and DuckDB lacks.
-- Loaded into every local session before any file of sql/ runs; nothing else is adapted.
create or replace macro sequence(start_value, stop_value, step) as generate_series(start_value, stop_value, step);
create or replace macro from_iso8601_timestamp(text_value) as cast(text_value as timestamptz);
create or replace macro from_utf8(binary_value) as decode(binary_value);

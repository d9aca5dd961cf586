-- DuckDB spellings of the few Trino (Athena) functions that sql/ uses and DuckDB lacks.
-- Loaded into every local session before any file of sql/ runs; nothing else is adapted.
-- Trino refuses a sequence of more than 10,000 entries ("result of sequence function must not have more
-- than 10000 entries", https://trino.io/docs/current/functions/array.html#sequence); so does this twin.
create or replace macro sequence(start_value, stop_value, step) as
    case
        when len(generate_series(start_value, stop_value, step)) > 10000
            then error('result of sequence function must not have more than 10000 entries')
        else generate_series(start_value, stop_value, step)
    end;
create or replace macro from_iso8601_timestamp(text_value) as cast(text_value as timestamptz);
create or replace macro from_utf8(binary_value) as decode(binary_value);

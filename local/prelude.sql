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
-- Trino's array_join(array, delimiter) (https://trino.io/docs/current/functions/array.html#array_join)
create or replace macro array_join(array_value, delimiter) as array_to_string(array_value, delimiter);
-- Trino's date_format(timestamp, format), MySQL specifiers
-- (https://trino.io/docs/current/functions/datetime.html#mysql-date-functions), spelled for strftime:
-- %Y %y %m %c %d %e %H %k %h %I %l %i %S %s %f %p %T %r %M %b %W %a %j. `%M` (month name) is
-- translated before `%i` becomes strftime's `%M` (minutes).
create or replace macro date_format(timestamp_value, format) as strftime(timestamp_value,
    replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(format,
        '%M', '%B'), '%W', '%A'), '%T', '%H:%M:%S'), '%r', '%I:%M:%S %p'), '%i', '%M'), '%s', '%S'),
        '%h', '%I'), '%l', '%-I'), '%k', '%-H'), '%c', '%-m'), '%e', '%-d'));

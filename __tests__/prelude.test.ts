import { withLake } from './support/lake';

/**
 * The DuckDB stand-in for Trino's date_format (MySQL specifiers,
 * https://trino.io/docs/current/functions/datetime.html#mysql-date-functions); the expected text is
 * what those specifiers mean, worked out by hand for 2024-03-05 07:08:09 and 2024-11-18 21:30:00.
 */
describe('date_format, as Trino spells it', () => {
  test.each([
    ['%c/%e/%Y %l:%i:%s %p', '3/5/2024 7:08:09 AM', '11/18/2024 9:30:00 PM'],
    ['%Y-%m-%d %H:%i:%S', '2024-03-05 07:08:09', '2024-11-18 21:30:00'],
    ['%k|%h|%I', '7|07|07', '21|09|09'],
    ['%M %W %b %a %y %j', 'March Tuesday Mar Tue 24 065', 'November Monday Nov Mon 24 323'],
    ['%T / %r', '07:08:09 / 07:08:09 AM', '21:30:00 / 09:30:00 PM'],
  ])('%s', async (format, morning, evening) => {
    await withLake(async (lake) => {
      const [row] = await lake.query(
        `select date_format(timestamp '2024-03-05 07:08:09', ?) as morning,
                date_format(timestamp '2024-11-18 21:30:00', ?) as evening`,
        [format, format],
      );
      expect(row).toEqual({ morning, evening });
    });
  });
});

/**
 * The stand-in for Trino's array_join(array, delimiter)
 * (https://trino.io/docs/current/functions/array.html#array_join): the elements joined by the
 * delimiter, null elements left out; a null array gives null, an empty one the empty string.
 */
test('array_join, as Trino spells it', async () => {
  await withLake(async (lake) => {
    const [row] = await lake.query(
      `select array_join(array['a', null, 'b'], ',') as joined,
              array_join(cast([] as varchar[]), ',') as empty,
              array_join(cast(null as varchar[]), ',') as missing`,
    );
    expect(row).toEqual({ joined: 'a,b', empty: '', missing: null });
  });
});

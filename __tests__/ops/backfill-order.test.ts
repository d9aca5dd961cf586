import { dateInName, planBackfill } from '../../cli/ops/backfill-order';

const object = (name: string) => ({ label: name, sourceObject: `bronze/${name}`, name, etag: 'e' });

describe('the backfill order, from the dates in object names', () => {
  test.each([
    ['exports/2024-11-05.csv', '2024-11-05'],
    ['exports/agent_events_2024_11_05.csv', '2024-11-05'],
    ['exports/20241105-agents.csv', '2024-11-05'],
    ['2024/11/05/agents.csv', '2024-11-05'],
    ['site-12/2024-13-45/2024-11-06.csv', '2024-11-06'],
    ['export-120241105999.csv', undefined],
    ['agents.csv', undefined],
    ['2024-11-05T10.csv', '2024-11-05'],
  ])('%s is dated %s', (name, day) => {
    expect(dateInName(name)).toBe(day);
  });

  test('by day then name, undated last; a range keeps its days and leaves the undated out', () => {
    const objects = [
      'b/2024-11-02.csv',
      'a/2024-11-02.csv',
      'z/2024-11-01.csv',
      'notes.csv',
      'c/2024-11-03.csv',
    ].map(object);
    expect(planBackfill(objects).ordered.map((o) => o.name)).toEqual([
      'z/2024-11-01.csv',
      'a/2024-11-02.csv',
      'b/2024-11-02.csv',
      'c/2024-11-03.csv',
      'notes.csv',
    ]);
    const ranged = planBackfill(objects, '2024-11-02', '2024-11-02');
    expect(ranged.ordered.map((o) => o.name)).toEqual(['a/2024-11-02.csv', 'b/2024-11-02.csv']);
    expect([ranged.outsideRange, ranged.undatedLeftOut]).toEqual([2, 1]);
    expect(() => planBackfill(objects, '2024-02-30')).toThrow("not a valid date or time: '2024-02-30'");
  });
});

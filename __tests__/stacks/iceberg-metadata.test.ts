import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type Emulator, startEmulator } from '../../emulator/moto';
import {
  ICEBERG_LAYOUTS,
  icebergSeedKey,
  icebergTableMetadata,
  icebergTableUuid,
} from '../../stacks/constructs/iceberg-metadata';
import { AGENT_INTERVALS, PIPELINE_RUNS, type TableDefinition, WEEKLY_SUMMARY } from '../../workflow/tables';
import { ROOT } from './synth';

const run = promisify(execFile);

/** A table with one column of every type the contract knows. */
const SAMPLE: TableDefinition = {
  name: 'sample',
  layer: 'gold',
  comment: 'every type',
  columns: [
    { name: 'id', type: 'string', comment: 'key' },
    { name: 'at', type: 'timestamp', comment: 'when' },
    { name: 'n', type: 'bigint', comment: 'count' },
    { name: 'x', type: 'double', comment: 'measure' },
    { name: 'd', type: 'date', comment: 'day' },
    { name: 'b', type: 'boolean', comment: 'flag' },
  ],
  partitionKeys: [],
  naturalKey: ['id'],
};
const LOCATION = 's3://example-gold/gold/sample';
const UUID = '0f0e0d0c-0b0a-5908-8706-050403020100';

/** The fields the Iceberg table spec requires of format-version 2 metadata ("Table Metadata Fields"). */
const V2_REQUIRED = [
  'format-version',
  'table-uuid',
  'location',
  'last-sequence-number',
  'last-updated-ms',
  'last-column-id',
  'schemas',
  'current-schema-id',
  'partition-specs',
  'default-spec-id',
  'last-partition-id',
  'sort-orders',
  'default-sort-order-id',
];

describe('Iceberg table metadata written by Terraform', () => {
  const metadata = icebergTableMetadata(SAMPLE, { column: 'at', transform: 'day' }, LOCATION, UUID);

  test('holds every field format version 2 requires', () => {
    for (const field of V2_REQUIRED) expect(metadata).toHaveProperty([field]);
    expect(metadata['format-version']).toBe(2);
    expect(metadata['current-snapshot-id']).toBe(-1);
    expect(metadata.snapshots).toEqual([]);
  });

  test('numbers the columns 1..n in order and maps Glue types to Iceberg types', () => {
    expect(metadata.schemas).toHaveLength(1);
    expect(metadata.schemas[0]?.fields.map(({ id, name, type }) => [id, name, type])).toEqual([
      [1, 'id', 'string'],
      [2, 'at', 'timestamp'],
      [3, 'n', 'long'],
      [4, 'x', 'double'],
      [5, 'd', 'date'],
      [6, 'b', 'boolean'],
    ]);
    expect(metadata['last-column-id']).toBe(6);
  });

  test('partitions by the transform of the source column and sorts by it', () => {
    expect(metadata['partition-specs']).toEqual([
      { 'spec-id': 0, fields: [{ name: 'at_day', transform: 'day', 'source-id': 2, 'field-id': 1000 }] },
    ]);
    expect(metadata['last-partition-id']).toBe(1000);
    expect(metadata['sort-orders']).toEqual([
      {
        'order-id': 1,
        fields: [{ transform: 'identity', 'source-id': 2, direction: 'asc', 'null-order': 'nulls-first' }],
      },
    ]);
    expect(metadata['default-sort-order-id']).toBe(1);
    const monthly = icebergTableMetadata(SAMPLE, { column: 'd', transform: 'month' }, LOCATION, UUID);
    expect(monthly['partition-specs'][0]?.fields).toEqual([
      { name: 'd_month', transform: 'month', 'source-id': 5, 'field-id': 1000 },
    ]);
  });

  test('refuses a partition column the table lacks, or one a time transform cannot take', () => {
    expect(() => icebergTableMetadata(SAMPLE, { column: 'gone', transform: 'day' }, LOCATION, UUID)).toThrow(
      'sample: partition column gone is not a column of the table',
    );
    expect(() => icebergTableMetadata(SAMPLE, { column: 'n', transform: 'day' }, LOCATION, UUID)).toThrow(
      'sample: day(n) needs a date or timestamp column, not bigint',
    );
    expect(() => icebergTableMetadata(SAMPLE, { column: 'b', transform: 'month' }, LOCATION, UUID)).toThrow(
      'sample: month(b) needs a date or timestamp column, not boolean',
    );
    const hive = { ...SAMPLE, partitionKeys: [{ name: 'p', type: 'date' as const, comment: '' }] };
    expect(() => icebergTableMetadata(hive, { column: 'at', transform: 'day' }, LOCATION, UUID)).toThrow(
      'sample: Iceberg tables partition by transform, not by Hive partition keys',
    );
  });

  test('partitions by identity on a column of any type, the field named after the column', () => {
    for (const [column, sourceId] of [
      ['b', 6],
      ['id', 1],
      ['at', 2],
    ] as const) {
      const byValue = icebergTableMetadata(SAMPLE, { column, transform: 'identity' }, LOCATION, UUID);
      expect(byValue['partition-specs']).toEqual([
        {
          'spec-id': 0,
          fields: [{ name: column, transform: 'identity', 'source-id': sourceId, 'field-id': 1000 }],
        },
      ]);
    }
  });

  test('agent_intervals is laid out by day(interval_start), weekly_summary by day(week_start): a week each', () => {
    expect(ICEBERG_LAYOUTS.get(AGENT_INTERVALS)).toEqual({ column: 'interval_start', transform: 'day' });
    expect(ICEBERG_LAYOUTS.get(WEEKLY_SUMMARY)).toEqual({ column: 'week_start', transform: 'day' });
    expect(ICEBERG_LAYOUTS.size).toBe(3);
  });

  test('pipeline_runs is laid out by identity(published): its seed partitions by the boolean column', () => {
    const layout = ICEBERG_LAYOUTS.get(PIPELINE_RUNS);
    expect(layout).toEqual({ column: 'published', transform: 'identity' });
    if (!layout) throw new Error('pipeline_runs has no layout');
    const uuid = icebergTableUuid('agent-etl-dev', PIPELINE_RUNS);
    const seed = icebergTableMetadata(PIPELINE_RUNS, layout, 's3://example-gold/ops/pipeline_runs', uuid);
    const published = seed.schemas[0]?.fields.find((field) => field.name === 'published');
    expect(published).toMatchObject({ type: 'boolean', required: false });
    expect(published?.id).toBe(PIPELINE_RUNS.columns.findIndex((column) => column.name === 'published') + 1);
    expect(seed['partition-specs']).toEqual([
      {
        'spec-id': 0,
        fields: [{ name: 'published', transform: 'identity', 'source-id': published?.id, 'field-id': 1000 }],
      },
    ]);
    expect(seed['sort-orders'][0]?.fields).toEqual([
      { transform: 'identity', 'source-id': published?.id, direction: 'asc', 'null-order': 'nulls-first' },
    ]);
    // A time transform on the boolean column is refused, as on any column but a date or timestamp.
    expect(() =>
      icebergTableMetadata(PIPELINE_RUNS, { column: 'published', transform: 'day' }, '', uuid),
    ).toThrow('pipeline_runs: day(published) needs a date or timestamp column, not boolean');
  });

  test('a table UUID is a version 5 UUID, fixed per environment and table', () => {
    const dev = icebergTableUuid('agent-etl-dev', AGENT_INTERVALS);
    expect(dev).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(icebergTableUuid('agent-etl-dev', AGENT_INTERVALS)).toBe(dev);
    expect(icebergTableUuid('agent-etl-prod', AGENT_INTERVALS)).not.toBe(dev);
    expect(icebergTableUuid('agent-etl-dev', SAMPLE)).not.toBe(dev);
    expect(icebergSeedKey('gold/agent_intervals', dev)).toBe(
      `gold/agent_intervals/metadata/00000-${dev}.metadata.json`,
    );
  });
});

/**
 * icebird (hyparam's Iceberg reader for JavaScript) reads the file from S3 (moto on 127.0.0.1) through
 * its own fetch, in a child process: icebird ships ESM only.
 */
describe('icebird reads the metadata file from S3', () => {
  let emulator: Emulator;
  const bucket = 'icebird-gold';
  const table = AGENT_INTERVALS;
  const layout = ICEBERG_LAYOUTS.get(table);
  const tableUuid = icebergTableUuid('agent-etl-dev', table);
  const key = icebergSeedKey(`gold/${table.name}`, tableUuid);

  beforeAll(async () => {
    emulator = await startEmulator();
    const s3 = new S3Client({
      region: 'us-east-1',
      endpoint: emulator.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    if (!layout) throw new Error('agent_intervals has no layout');
    const metadata = icebergTableMetadata(table, layout, `s3://${bucket}/gold/${table.name}`, tableUuid);
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    // icebird fetches without signing: the object is readable by anyone, in this test's bucket only.
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(metadata), ACL: 'public-read' }),
    );
  });
  afterAll(() => emulator?.stop());

  /** Runs `body` as an ES module beside the project's node_modules; returns what it printed as JSON. */
  async function esm(body: string, env: Record<string, string>): Promise<Record<string, unknown>> {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', body], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
    return JSON.parse(stdout) as Record<string, unknown>;
  }

  test('finds the day(interval_start) spec, knows the table is empty, and writes no field we lack', async () => {
    const tableUrl = `${emulator.endpoint}/${bucket}/gold/${table.name}`;
    const read = await esm(
      `
      import { icebergCreate, icebergMetadata, icebergRead } from 'icebird';
      const { TABLE_URL, FILE } = process.env;
      const metadata = await icebergMetadata({ tableUrl: TABLE_URL, metadataFileName: FILE });
      const schema = metadata.schemas.find((s) => s['schema-id'] === metadata['current-schema-id']);
      const spec = metadata['partition-specs'].find((s) => s['spec-id'] === metadata['default-spec-id']);
      const field = spec.fields[0];
      const rows = await icebergRead({ tableUrl: TABLE_URL, metadata }).then(
        (r) => ({ rows: r.length }),
        (e) => ({ error: e.message }),
      );
      // icebird's own writer of an empty table: the fields it writes.
      const written = await icebergCreate({
        tableUrl: 'memory://t',
        writerFactory: () => ({ appendBytes() {}, finish() {} }),
      });
      console.log(JSON.stringify({
        uuid: metadata['table-uuid'],
        transform: field.transform,
        source: schema.fields.find((f) => f.id === field['source-id']).name,
        sourceType: schema.fields.find((f) => f.id === field['source-id']).type,
        rows,
        icebirdFields: Object.keys(written),
      }));
      `,
      { TABLE_URL: tableUrl, FILE: key.split('/').at(-1) ?? '' },
    );
    expect(read.uuid).toBe(tableUuid);
    expect(read.transform).toBe('day');
    expect(read.source).toBe('interval_start');
    expect(read.sourceType).toBe('timestamp');
    // icebird reads data only through a snapshot; -1 tells it there is none yet.
    expect(read.rows).toEqual({ error: 'No current snapshot id found in table metadata' });
    const ours = Object.keys(
      icebergTableMetadata(table, { column: 'interval_start', transform: 'day' }, '', ''),
    );
    expect((read.icebirdFields as string[]).filter((field) => !ours.includes(field))).toEqual([]);
  });

  test('a key that holds no metadata file is an error, not an empty table', async () => {
    await expect(
      esm(
        `
        import { icebergMetadata } from 'icebird';
        await icebergMetadata({ tableUrl: process.env.TABLE_URL, metadataFileName: 'missing.metadata.json' });
        console.log('{}');
        `,
        { TABLE_URL: `${emulator.endpoint}/${bucket}/gold/${table.name}` },
      ),
    ).rejects.toThrow(/failed to get iceberg metadata: 404/);
  });
});

import { CreateDatabaseCommand, CreateTableCommand, GlueClient } from '@aws-sdk/client-glue';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type Emulator, startEmulator } from '../../emulator/moto';
import { findIcebergTables, icebergTableProblems } from '../../rehearsal/iceberg-check';
import {
  ICEBERG_LAYOUTS,
  icebergSeedKey,
  icebergTableMetadata,
  icebergTableUuid,
} from '../../stacks/constructs/iceberg-metadata';
import { AGENT_INTERVALS, PIPELINE_RUNS, WEEKLY_SUMMARY } from '../../workflow/tables';

const GOLD = 'agent-etl-dev-gold-123456789012-eu-west-1';
const DAY = { column: 'interval_start', transform: 'day' } as const;
const uuid = icebergTableUuid('agent-etl-dev', AGENT_INTERVALS);
const key = icebergSeedKey('gold/agent_intervals', uuid);
const goodText = JSON.stringify(
  icebergTableMetadata(AGENT_INTERVALS, DAY, `s3://${GOLD}/gold/agent_intervals`, uuid),
);
const goodParameters = { table_type: 'ICEBERG', metadata_location: `s3://${GOLD}/${key}` };

describe('the rehearsal check of a partitioned Iceberg table', () => {
  test('a table registered on its metadata file, encrypted, with the day spec, has no problem', () => {
    expect(
      icebergTableProblems(DAY, GOLD, goodParameters, { text: goodText, encryption: 'aws:kms' }),
    ).toEqual([]);
  });

  test('names each way a deployed table can be wrong', () => {
    const file = { text: goodText, encryption: 'aws:kms' };
    expect(icebergTableProblems(DAY, GOLD, undefined, undefined)).toEqual([
      'table_type is missing',
      `metadata_location missing is not in ${GOLD}`,
      'no object at metadata_location',
    ]);
    expect(
      icebergTableProblems(DAY, GOLD, { ...goodParameters, metadata_location: 's3://elsewhere/k' }, file),
    ).toEqual([`metadata_location s3://elsewhere/k is not in ${GOLD}`]);
    expect(icebergTableProblems(DAY, GOLD, goodParameters, { ...file, encryption: 'AES256' })).toEqual([
      'object encrypted with AES256',
    ]);
    expect(icebergTableProblems(DAY, GOLD, goodParameters, { ...file, text: '{"format' })).toEqual([
      expect.stringMatching(/^metadata is not JSON: /),
    ]);
    // The file of an unpartitioned table (what Glue's own CREATE writes) is refused.
    const unpartitioned = JSON.parse(goodText) as Record<string, unknown>;
    unpartitioned['partition-specs'] = [{ 'spec-id': 0, fields: [] }];
    expect(
      icebergTableProblems(DAY, GOLD, goodParameters, { ...file, text: JSON.stringify(unpartitioned) }),
    ).toEqual(['default partition spec is [], not [day(interval_start)]']);
    const monthly = icebergTableMetadata(AGENT_INTERVALS, { ...DAY, transform: 'month' }, '', uuid);
    expect(
      icebergTableProblems(DAY, GOLD, goodParameters, { ...file, text: JSON.stringify(monthly) }),
    ).toEqual(['default partition spec is [month(interval_start)], not [day(interval_start)]']);
  });

  test('an identity partition is checked as identity(<column>)', () => {
    const IDENTITY = { column: 'published', transform: 'identity' } as const;
    const runsUuid = icebergTableUuid('agent-etl-dev', PIPELINE_RUNS);
    const runsKey = icebergSeedKey('ops/pipeline_runs', runsUuid);
    const parameters = { table_type: 'ICEBERG', metadata_location: `s3://${GOLD}/${runsKey}` };
    const metadata = icebergTableMetadata(
      PIPELINE_RUNS,
      IDENTITY,
      `s3://${GOLD}/ops/pipeline_runs`,
      runsUuid,
    );
    const file = { text: JSON.stringify(metadata), encryption: 'aws:kms' };
    expect(icebergTableProblems(IDENTITY, GOLD, parameters, file)).toEqual([]);
    expect(icebergTableProblems({ ...IDENTITY, column: 'run_id' }, GOLD, parameters, file)).toEqual([
      'default partition spec is [identity(published)], not [identity(run_id)]',
    ]);
  });
});

describe('findIcebergTables against Glue and S3 (moto)', () => {
  let emulator: Emulator;
  let glue: GlueClient;
  let s3: S3Client;
  const database = 'agent_etl_dev';

  beforeAll(async () => {
    emulator = await startEmulator();
    const common = {
      region: 'eu-west-1',
      endpoint: emulator.endpoint,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    };
    glue = new GlueClient(common);
    s3 = new S3Client({ ...common, forcePathStyle: true });
    await s3.send(
      new CreateBucketCommand({
        Bucket: GOLD,
        CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
      }),
    );
    await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: database } }));
    for (const [table, layout] of ICEBERG_LAYOUTS) {
      const tableUuid = icebergTableUuid('agent-etl-dev', table);
      const seed = icebergSeedKey(`${table.layer}/${table.name}`, tableUuid);
      const location = `s3://${GOLD}/${table.layer}/${table.name}`;
      // agent_intervals' and pipeline_runs' files are where the tables say; weekly_summary's is missing.
      if (table !== WEEKLY_SUMMARY) {
        await s3.send(
          new PutObjectCommand({
            Bucket: GOLD,
            Key: seed,
            Body: JSON.stringify(icebergTableMetadata(table, layout, location, tableUuid)),
            ServerSideEncryption: 'aws:kms',
          }),
        );
      }
      await glue.send(
        new CreateTableCommand({
          DatabaseName: database,
          TableInput: {
            Name: table.name,
            TableType: 'EXTERNAL_TABLE',
            Parameters: { table_type: 'ICEBERG', metadata_location: `s3://${GOLD}/${seed}` },
            StorageDescriptor: { Location: location, Columns: [] },
          },
        }),
      );
    }
  });
  afterAll(() => emulator?.stop());

  test('reads each table from Glue and its file from S3; a missing file is a problem', async () => {
    const findings = await findIcebergTables(glue, s3, database, GOLD);
    expect(findings.map(({ table, problems }) => [table, problems])).toEqual([
      ['agent_intervals', []],
      ['weekly_summary', ['no object at metadata_location']],
      ['pipeline_runs', []],
    ]);
  });
});

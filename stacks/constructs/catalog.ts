import { GlueCatalogDatabase } from '@cdktf/provider-aws/lib/glue-catalog-database';
import {
  GlueCatalogTable,
  type GlueCatalogTableStorageDescriptorColumns,
} from '@cdktf/provider-aws/lib/glue-catalog-table';
import { GlueCrawler } from '@cdktf/provider-aws/lib/glue-crawler';
import { S3Object } from '@cdktf/provider-aws/lib/s3-object';
import { Construct } from 'constructs';
import { ACCEPTED_DONE_ON } from '../../workflow/input-contract';
import { type Column, MANAGED_TABLES, SILVER_TABLES, type TableDefinition } from '../../workflow/tables';
import type { EnvironmentConfig } from '../config';
import type { AwsContext } from './aws-context';
import { type PolicyStatement, ServiceRole } from './iam';
import {
  ICEBERG_LAYOUTS,
  type IcebergLayout,
  icebergSeedKey,
  icebergTableMetadata,
  icebergTableUuid,
} from './iceberg-metadata';
import type { Storage } from './storage';

/** Where a table's files live in its bucket: silver tables at `<name>/`, managed ones at `<layer>/<name>/`. */
export function tablePrefix(table: TableDefinition): string {
  return table.layer === 'silver' ? table.name : `${table.layer}/${table.name}`;
}

/** Tables the crawler creates from raw drops start with this, so they never shadow pipeline tables. */
export const BRONZE_TABLE_PREFIX = 'bronze_';

/** A managed table whose first Iceberg metadata file Terraform writes (iceberg-metadata.ts), and where. */
export interface SeededTable {
  readonly table: TableDefinition;
  readonly layout: IcebergLayout;
  readonly tableUuid: string;
  /** Key of the metadata file in the gold bucket. */
  readonly key: string;
}

/** The managed tables with a partition spec, for one environment's name prefix. */
export function seededTables(namePrefix: string): SeededTable[] {
  return MANAGED_TABLES.flatMap((table) => {
    const layout = ICEBERG_LAYOUTS.get(table);
    if (!layout) return [];
    const tableUuid = icebergTableUuid(namePrefix, table);
    return [{ table, layout, tableUuid, key: icebergSeedKey(tablePrefix(table), tableUuid) }];
  });
}

/**
 * For every role whose Athena queries write gold: the seeded metadata files cannot be deleted. VACUUM
 * removes metadata files beyond `vacuum_max_metadata_files_to_keep` (100), and a query role without
 * s3:DeleteObject makes VACUUM succeed without deleting (Athena user guide, "VACUUM"). So the file
 * Terraform wrote stays, and no plan ever proposes to write it again.
 */
export function keepTableSeeds(storage: Storage, namePrefix: string): PolicyStatement {
  return {
    Sid: 'KeepTableSeeds',
    Effect: 'Deny',
    Action: ['s3:DeleteObject'],
    Resource: seededTables(namePrefix).map(({ key }) => `${storage.gold.arn}/${key}`),
  };
}

const glueColumns = (columns: readonly Column[]): GlueCatalogTableStorageDescriptorColumns[] =>
  columns.map(({ name, type, comment }) => ({ name, type, comment }));

export interface CatalogProps {
  readonly config: EnvironmentConfig;
  readonly context: AwsContext;
  readonly storage: Storage;
}

/**
 * The Glue catalog: one database; silver tables as Parquet with partition projection on event_date
 * (no partitions to register); gold, ops and staging tables as Iceberg (Athena MERGE/DELETE need it),
 * those with a layout (agent_intervals, weekly_summary, pipeline_runs) with the partition spec of
 * iceberg-metadata.ts in a metadata file Terraform writes, the others created by Glue unpartitioned; a
 * crawler over bronze for looking at raw drops. Columns come from workflow/tables.ts, whose types are
 * Glue/Hive type names already (boolean among them: Athena user guide, "Data types in Amazon Athena").
 */
export class Catalog extends Construct {
  readonly database: GlueCatalogDatabase;
  readonly crawler: GlueCrawler;

  constructor(scope: Construct, id: string, props: CatalogProps) {
    super(scope, id);
    const { config, context, storage } = props;
    this.database = new GlueCatalogDatabase(this, 'database', {
      name: config.namePrefix.replace(/-/g, '_'),
      description: 'agent-activity-etl: silver events, gold intervals and weekly summaries, run audit',
    });
    const databaseName = this.database.name;

    for (const table of SILVER_TABLES) {
      const location = storage.silver.uri(`${tablePrefix(table)}/`);
      const projection: Record<string, string> = {};
      for (const key of table.partitionKeys) {
        projection['projection.enabled'] = 'true';
        projection[`projection.${key.name}.type`] = 'date';
        projection[`projection.${key.name}.format`] = 'yyyy-MM-dd';
        // The loader's and the Glue job's accepted Done On range (workflow/input-contract.json), so no
        // accepted row falls outside the projection, where Athena would return zero rows for it
        // (https://docs.aws.amazon.com/athena/latest/ug/partition-projection-supported-types.html).
        projection[`projection.${key.name}.range`] =
          `${ACCEPTED_DONE_ON.earliest},NOW+${ACCEPTED_DONE_ON.latestDaysAfterRunDay}DAYS`;
        projection[`projection.${key.name}.interval`] = '1';
        projection[`projection.${key.name}.interval.unit`] = 'DAYS';
        // `$${` is Terraform's escape: Athena, not Terraform, fills in the partition value.
        projection['storage.location.template'] = `${location}${key.name}=$\${${key.name}}/`;
      }
      new GlueCatalogTable(this, `${table.name}Table`, {
        databaseName,
        name: table.name,
        description: table.comment,
        tableType: 'EXTERNAL_TABLE',
        parameters: {
          EXTERNAL: 'TRUE',
          classification: 'parquet',
          'parquet.compression': 'SNAPPY',
          ...projection,
        },
        partitionKeys: glueColumns(table.partitionKeys),
        storageDescriptor: {
          location,
          inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
          serDeInfo: {
            serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
            parameters: { 'serialization.format': '1' },
          },
          columns: glueColumns(table.columns),
        },
      });
    }

    const seeded = new Map(seededTables(config.namePrefix).map((seed) => [seed.table, seed]));
    for (const table of MANAGED_TABLES) {
      const location = storage.gold.uri(tablePrefix(table));
      const seed = seeded.get(table);
      // Every Athena commit moves metadata_location; Terraform must never roll it back. Column
      // changes go through Athena `ALTER TABLE`, which updates the Iceberg metadata as well.
      const lifecycle = { ignoreChanges: ['parameters', 'storage_descriptor'] };
      const storageDescriptor = { location, columns: glueColumns(table.columns) };
      if (!seed) {
        new GlueCatalogTable(this, `${table.name}Table`, {
          databaseName,
          name: table.name,
          description: table.comment,
          tableType: 'EXTERNAL_TABLE',
          openTableFormatInput: { icebergInput: { metadataOperation: 'CREATE', version: '2' } },
          storageDescriptor,
          lifecycle,
        });
        continue;
      }
      // The table's first metadata file, encrypted with the lake key like everything in the bucket.
      // Written once: later metadata files are Athena's, and schema changes go through ALTER TABLE, so
      // a changed column list in workflow/tables.ts never rewrites this file (Iceberg spec, "File
      // System Operations": metadata files are immutable once written).
      const metadata = new S3Object(this, `${table.name}Metadata`, {
        bucket: storage.gold.name,
        key: seed.key,
        content: JSON.stringify(icebergTableMetadata(table, seed.layout, location, seed.tableUuid)),
        contentType: 'application/json',
        serverSideEncryption: 'aws:kms',
        kmsKeyId: storage.key.arn,
        lifecycle: { ignoreChanges: ['content'] },
      });
      // Registered the way Iceberg's open-source Glue catalog registers a table. The provider keeps
      // `table_type` and `metadata_location` of an Iceberg table out of its state (terraform-provider-aws,
      // glue/catalog_table.go, flattenNonManagedParameters), so without `ignore_changes` every plan
      // would propose to write them again.
      new GlueCatalogTable(this, `${table.name}Table`, {
        databaseName,
        name: table.name,
        description: table.comment,
        tableType: 'EXTERNAL_TABLE',
        parameters: { table_type: 'ICEBERG', metadata_location: storage.gold.uri(metadata.key) },
        storageDescriptor,
        lifecycle,
      });
    }

    const crawlerRole = new ServiceRole(this, 'crawlerRole', {
      name: `${config.namePrefix}-bronze-crawler`,
      description: 'Glue crawler over bronze: reads raw drops, writes bronze_* tables',
      service: 'glue.amazonaws.com',
      statements: [
        {
          Sid: 'ListBronze',
          Action: ['s3:ListBucket', 's3:GetBucketLocation'],
          Resource: [storage.bronze.arn],
        },
        { Sid: 'ReadBronze', Action: ['s3:GetObject'], Resource: [storage.bronze.objectsArn()] },
        { Sid: 'DecryptLake', Action: ['kms:Decrypt'], Resource: [storage.key.arn] },
        {
          Sid: 'WriteBronzeTables',
          Action: [
            'glue:GetDatabase',
            'glue:GetTable',
            'glue:GetTables',
            'glue:CreateTable',
            'glue:UpdateTable',
            'glue:GetPartition',
            'glue:GetPartitions',
            'glue:BatchGetPartition',
            'glue:CreatePartition',
            'glue:BatchCreatePartition',
            'glue:UpdatePartition',
            'glue:BatchUpdatePartition',
          ],
          Resource: [
            context.arn('glue', 'catalog'),
            context.arn('glue', `database/${databaseName}`),
            context.arn('glue', `table/${databaseName}/${BRONZE_TABLE_PREFIX}*`),
          ],
        },
        {
          Sid: 'CrawlerLogs',
          Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: [context.logGroupArn('/aws-glue/crawlers'), context.logStreamsArn('/aws-glue/crawlers')],
        },
      ],
    });

    this.crawler = new GlueCrawler(this, 'bronzeCrawler', {
      name: `${config.namePrefix}-bronze`,
      description: 'Run on demand to inspect raw CSV drops in Athena as bronze_* tables',
      role: crawlerRole.arn,
      databaseName,
      tablePrefix: BRONZE_TABLE_PREFIX,
      s3Target: [{ path: storage.bronze.uri() }],
      recrawlPolicy: { recrawlBehavior: 'CRAWL_NEW_FOLDERS_ONLY' },
      schemaChangePolicy: { updateBehavior: 'LOG', deleteBehavior: 'LOG' },
      configuration: JSON.stringify({
        Version: 1.0,
        Grouping: { TableGroupingPolicy: 'CombineCompatibleSchemas' },
      }),
    });
  }
}

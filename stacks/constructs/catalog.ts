import { GlueCatalogDatabase } from '@cdktf/provider-aws/lib/glue-catalog-database';
import {
  GlueCatalogTable,
  type GlueCatalogTableStorageDescriptorColumns,
} from '@cdktf/provider-aws/lib/glue-catalog-table';
import { GlueCrawler } from '@cdktf/provider-aws/lib/glue-crawler';
import { Construct } from 'constructs';
import { ACCEPTED_DONE_ON } from '../../workflow/input-contract';
import { type Column, MANAGED_TABLES, SILVER_TABLES, type TableDefinition } from '../../workflow/tables';
import type { EnvironmentConfig } from '../config';
import type { AwsContext } from './aws-context';
import { ServiceRole } from './iam';
import type { Storage } from './storage';

/** Where a table's files live in its bucket: silver tables at `<name>/`, managed ones at `<layer>/<name>/`. */
export function tablePrefix(table: TableDefinition): string {
  return table.layer === 'silver' ? table.name : `${table.layer}/${table.name}`;
}

/** Tables the crawler creates from raw drops start with this, so they never shadow pipeline tables. */
export const BRONZE_TABLE_PREFIX = 'bronze_';

const glueColumns = (columns: readonly Column[]): GlueCatalogTableStorageDescriptorColumns[] =>
  columns.map(({ name, type, comment }) => ({ name, type, comment }));

export interface CatalogProps {
  readonly config: EnvironmentConfig;
  readonly context: AwsContext;
  readonly storage: Storage;
}

/**
 * The Glue catalog: one database; silver tables as Parquet with partition projection on event_date
 * (no partitions to register); gold, ops and staging tables as Iceberg (Athena MERGE/DELETE need it);
 * a crawler over bronze for looking at raw drops. Columns come from workflow/tables.ts.
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

    for (const table of MANAGED_TABLES) {
      new GlueCatalogTable(this, `${table.name}Table`, {
        databaseName,
        name: table.name,
        description: table.comment,
        tableType: 'EXTERNAL_TABLE',
        openTableFormatInput: { icebergInput: { metadataOperation: 'CREATE', version: '2' } },
        storageDescriptor: {
          location: storage.gold.uri(tablePrefix(table)),
          columns: glueColumns(table.columns),
        },
        // Every Athena commit moves metadata_location; Terraform must never roll it back. Column
        // changes go through Athena `ALTER TABLE`, which updates the Iceberg metadata as well.
        lifecycle: { ignoreChanges: ['parameters', 'storage_descriptor'] },
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

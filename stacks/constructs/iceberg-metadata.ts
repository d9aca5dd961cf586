import { v5 as uuidV5 } from 'uuid';
import {
  type ColumnType,
  type IcebergLayout,
  MANAGED_TABLES,
  type TableDefinition,
} from '../../workflow/tables';

/**
 * The first Iceberg metadata file of a managed table that needs a partition spec (the gold tables
 * agent_intervals and weekly_summary, the ops table pipeline_runs), written by Terraform itself.
 * Provider 5.100's `aws_glue_catalog_table` creates Iceberg tables through Glue
 * (`open_table_format_input.iceberg_input`: `metadata_operation` and `version` only), which writes an
 * unpartitioned table, and Athena cannot add a partition field later: its Iceberg DDL evolves columns
 * only (Athena user guide, "Evolve Iceberg table schema": ADD COLUMNS, DROP COLUMN, CHANGE COLUMN).
 * So Terraform writes the table's metadata file, with the spec, and registers it in Glue the way
 * Iceberg's open-source Glue catalog does (`table_type=ICEBERG`, `metadata_location`), which Athena
 * reads (Athena user guide, "Create Iceberg tables": tables of the Iceberg open source Glue catalog).
 * Fields follow the Iceberg table spec, "Table Metadata Fields", format version 2.
 */

export type { IcebergLayout, IcebergTimeTransform, IcebergTransform } from '../../workflow/tables';

/**
 * The tables Terraform creates with a partition spec: the managed tables whose definition names a
 * layout (workflow/tables.ts). The other managed tables are small, keyed by run or object, and stay as
 * Glue creates them.
 */
export const ICEBERG_LAYOUTS: ReadonlyMap<TableDefinition, IcebergLayout> = new Map(
  MANAGED_TABLES.flatMap((table) => (table.layout ? [[table, table.layout] as const] : [])),
);

/** Glue/Hive column types as Iceberg primitive types (Athena user guide, "Supported data types for Iceberg tables"). */
const ICEBERG_TYPES: Readonly<Record<ColumnType, string>> = {
  string: 'string',
  bigint: 'long',
  double: 'double',
  timestamp: 'timestamp',
  date: 'date',
  boolean: 'boolean',
};

/**
 * Source types the time transforms accept (Iceberg spec, "Partition Transforms": day and month of date or
 * timestamp); identity accepts any primitive type.
 */
const TIME_TYPES: readonly ColumnType[] = ['timestamp', 'date'];

/** Partition field ids start at 1000 (Iceberg spec, "Partition Specs"; what Iceberg writers assign). */
const FIRST_PARTITION_FIELD_ID = 1000;

/**
 * A fixed `last-updated-ms`: the file must read the same on every synth so plans stay empty. It is the
 * time this layout was written, 2026-12-02 00:00 UTC; Athena's first commit sets its own.
 */
export const SEED_LAST_UPDATED_MS = Date.UTC(2026, 11, 2);

/** Namespace of the name-based table UUIDs (RFC 9562 version 5): constant, so a table's UUID is too. */
const TABLE_UUID_NAMESPACE = '4f0a7c2e-8d3b-4e61-9a57-2c1b6d8e0f93';

export interface IcebergField {
  readonly id: number;
  readonly name: string;
  readonly required: boolean;
  readonly type: string;
  readonly doc: string;
}

export interface IcebergTableMetadata {
  readonly 'format-version': 2;
  readonly 'table-uuid': string;
  readonly location: string;
  readonly 'last-sequence-number': number;
  readonly 'last-updated-ms': number;
  readonly 'last-column-id': number;
  readonly 'current-schema-id': number;
  readonly schemas: readonly { type: 'struct'; 'schema-id': number; fields: readonly IcebergField[] }[];
  readonly 'default-spec-id': number;
  readonly 'partition-specs': readonly {
    'spec-id': number;
    fields: readonly { name: string; transform: string; 'source-id': number; 'field-id': number }[];
  }[];
  readonly 'last-partition-id': number;
  readonly 'default-sort-order-id': number;
  readonly 'sort-orders': readonly {
    'order-id': number;
    fields: readonly { transform: string; 'source-id': number; direction: string; 'null-order': string }[];
  }[];
  readonly properties: Readonly<Record<string, string>>;
  readonly 'current-snapshot-id': number;
  readonly refs: Readonly<Record<string, never>>;
  readonly snapshots: readonly never[];
  readonly 'snapshot-log': readonly never[];
  readonly 'metadata-log': readonly never[];
}

/** The table's UUID, derived from environment and table so every synth writes the same file. */
export function icebergTableUuid(namePrefix: string, table: TableDefinition): string {
  return uuidV5(`${namePrefix}/${table.layer}/${table.name}`, TABLE_UUID_NAMESPACE);
}

/**
 * Where the file goes, relative to the bucket: the table's `metadata/` folder, named
 * `<version>-<uuid>.metadata.json` with version 00000 as Iceberg's metastore tables name them (Iceberg
 * spec, "Metastore Tables"), so Athena's first commit writes `00001-…` beside it.
 */
export function icebergSeedKey(tablePrefix: string, tableUuid: string): string {
  return `${tablePrefix}/metadata/00000-${tableUuid}.metadata.json`;
}

/**
 * Table metadata of an empty format-version 2 table: the table's columns with ids 1..n in order, the
 * layout's partition field, files sorted by its source column, no snapshot. Throws when the layout
 * names a column the table lacks or one a time transform cannot take.
 */
export function icebergTableMetadata(
  table: TableDefinition,
  layout: IcebergLayout,
  location: string,
  tableUuid: string,
): IcebergTableMetadata {
  if (table.partitionKeys.length > 0) {
    throw new Error(`${table.name}: Iceberg tables partition by transform, not by Hive partition keys`);
  }
  const fields = table.columns.map(
    (column, index): IcebergField => ({
      id: index + 1,
      name: column.name,
      // Athena's CREATE TABLE makes every column optional; the pipeline's SQL guarantees the keys.
      required: false,
      type: ICEBERG_TYPES[column.type],
      doc: column.comment,
    }),
  );
  const sourceIndex = table.columns.findIndex((column) => column.name === layout.column);
  const source = table.columns[sourceIndex];
  if (!source) {
    throw new Error(`${table.name}: partition column ${layout.column} is not a column of the table`);
  }
  if (layout.transform !== 'identity' && !TIME_TYPES.includes(source.type)) {
    throw new Error(
      `${table.name}: ${layout.transform}(${layout.column}) needs a date or timestamp column, not ${source.type}`,
    );
  }
  const sourceId = sourceIndex + 1;
  return {
    'format-version': 2,
    'table-uuid': tableUuid,
    location,
    'last-sequence-number': 0,
    'last-updated-ms': SEED_LAST_UPDATED_MS,
    'last-column-id': fields.length,
    'current-schema-id': 0,
    schemas: [{ type: 'struct', 'schema-id': 0, fields }],
    'default-spec-id': 0,
    'partition-specs': [
      {
        'spec-id': 0,
        fields: [
          {
            // Iceberg's default partition field names (Java PartitionSpec.Builder): an identity field is
            // named after its source column, a time field `<column>_<transform>`.
            name: layout.transform === 'identity' ? layout.column : `${layout.column}_${layout.transform}`,
            transform: layout.transform,
            'source-id': sourceId,
            'field-id': FIRST_PARTITION_FIELD_ID,
          },
        ],
      },
    ],
    'last-partition-id': FIRST_PARTITION_FIELD_ID,
    // Order 0 is reserved for "unsorted" (Iceberg spec, "Sort Orders").
    'default-sort-order-id': 1,
    'sort-orders': [
      {
        'order-id': 1,
        fields: [
          { transform: 'identity', 'source-id': sourceId, direction: 'asc', 'null-order': 'nulls-first' },
        ],
      },
    ],
    properties: { 'write.format.default': 'parquet' },
    // -1: no snapshot yet, as Iceberg's Java writers (Athena's engine among them) write it.
    'current-snapshot-id': -1,
    refs: {},
    snapshots: [],
    'snapshot-log': [],
    'metadata-log': [],
  };
}

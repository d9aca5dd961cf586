import { GetTableCommand, type GlueClient } from '@aws-sdk/client-glue';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ICEBERG_LAYOUTS, type IcebergLayout } from '../stacks/constructs/iceberg-metadata';

/** What the rehearsal found for one partitioned table: the Glue entry, its metadata file, the spec in it. */
export interface IcebergTableFinding {
  readonly table: string;
  readonly problems: readonly string[];
  readonly detail: string;
}

interface SeenMetadata {
  schemas?: { 'schema-id': number; fields: { id: number; name: string }[] }[];
  'current-schema-id'?: number;
  'partition-specs'?: { 'spec-id': number; fields: { transform: string; 'source-id': number }[] }[];
  'default-spec-id'?: number;
  'format-version'?: number;
}

/**
 * The problems of one table as the emulator holds it: Glue parameters that Athena reads an Iceberg table
 * by (`table_type` ICEBERG, `metadata_location` in the gold bucket), and the metadata file there holding
 * the layout's spec as its default. An empty list means the table is as deployed should be.
 */
export function icebergTableProblems(
  layout: IcebergLayout,
  goldBucket: string,
  parameters: Readonly<Record<string, string>> | undefined,
  metadataFile: { text: string; encryption: string | undefined } | undefined,
): string[] {
  const problems: string[] = [];
  if (parameters?.table_type !== 'ICEBERG')
    problems.push(`table_type is ${parameters?.table_type ?? 'missing'}`);
  const location = parameters?.metadata_location;
  if (!location?.startsWith(`s3://${goldBucket}/`)) {
    problems.push(`metadata_location ${location ?? 'missing'} is not in ${goldBucket}`);
  }
  if (!metadataFile) return [...problems, 'no object at metadata_location'];
  if (metadataFile.encryption !== 'aws:kms')
    problems.push(`object encrypted with ${metadataFile.encryption}`);
  let metadata: SeenMetadata;
  try {
    metadata = JSON.parse(metadataFile.text) as SeenMetadata;
  } catch (error) {
    return [...problems, `metadata is not JSON: ${(error as Error).message}`];
  }
  if (metadata['format-version'] !== 2) problems.push(`format-version ${metadata['format-version']}`);
  const schema = metadata.schemas?.find((s) => s['schema-id'] === metadata['current-schema-id']);
  const spec = metadata['partition-specs']?.find((s) => s['spec-id'] === metadata['default-spec-id']);
  const found = spec?.fields.map((field) => {
    const column = schema?.fields.find((candidate) => candidate.id === field['source-id'])?.name;
    return `${field.transform}(${column ?? `field ${field['source-id']}`})`;
  });
  const wanted = `${layout.transform}(${layout.column})`;
  if (found?.length !== 1 || found[0] !== wanted) {
    problems.push(`default partition spec is [${found?.join(', ') ?? 'missing'}], not [${wanted}]`);
  }
  return problems;
}

/** Reads every partitioned table of the stack from Glue and its metadata file from S3 (through the emulator). */
export async function findIcebergTables(
  glue: GlueClient,
  s3: S3Client,
  database: string,
  goldBucket: string,
): Promise<IcebergTableFinding[]> {
  const findings: IcebergTableFinding[] = [];
  for (const [table, layout] of ICEBERG_LAYOUTS) {
    const answer = await glue.send(new GetTableCommand({ DatabaseName: database, Name: table.name }));
    const parameters = answer.Table?.Parameters;
    const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(parameters?.metadata_location ?? '');
    let metadataFile: { text: string; encryption: string | undefined } | undefined;
    if (match) {
      try {
        const object = await s3.send(new GetObjectCommand({ Bucket: match[1], Key: match[2] }));
        metadataFile = {
          text: (await object.Body?.transformToString()) ?? '',
          encryption: object.ServerSideEncryption,
        };
      } catch (error) {
        if ((error as { name?: string }).name !== 'NoSuchKey') throw error;
      }
    }
    const problems = icebergTableProblems(layout, goldBucket, parameters, metadataFile);
    findings.push({
      table: table.name,
      problems,
      detail: `table_type=${parameters?.table_type}, ${layout.transform}(${layout.column}) in ${parameters?.metadata_location}`,
    });
  }
  return findings;
}

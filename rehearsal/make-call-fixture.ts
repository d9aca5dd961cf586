import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTerraformLog } from './calls';

/**
 * Cuts the call-check test's fixture out of a kept rehearsal (`REHEARSE_KEEP=1 npm run rehearse`):
 * the log entries of a few operations from the dev apply and plan logs, and the recorded requests
 * that complete their truncated bodies. Usage (from the repository root):
 *   npx esbuild rehearsal/make-call-fixture.ts --bundle --platform=node --packages=external --outfile=.gen/fixture.js
 *   node .gen/fixture.js <rehearsal work dir> __tests__/fixtures/terraform-calls
 */
const OPERATIONS = new Set([
  'KMS.CreateKey',
  'KMS.DescribeKey',
  'KMS.GetKeyPolicy',
  'Glue.CreateTable',
  'Glue.GetTable',
  'Glue.GetPartitionIndexes',
  'Glue.CreateJob',
  'IAM.CreateRole',
  'SNS.ListSubscriptionsByTopic',
  'S3.CreateBucket',
  'S3.PutObject',
  'S3.HeadObject',
  'S3.GetObjectTagging',
]);
/** Operations kept only for the objects they name here: the Iceberg tables' first metadata files. */
const ONLY: Readonly<Record<string, RegExp>> = {
  'S3.PutObject': /\/metadata\/00000-/,
  'S3.HeadObject': /\/metadata\/00000-/,
  'S3.GetObjectTagging': /\/metadata\/00000-/,
};
/** At most this many requests of each operation, to keep the fixture small. */
const PER_OPERATION = 2;

function cut(log: string): { text: string; bodyPrefixes: string[] } {
  const entries: string[][] = [];
  for (const line of log.split('\n')) {
    if (/^\d{4}-\d\d-\d\dT/.test(line) || entries.length === 0) entries.push([line]);
    else entries[entries.length - 1]?.push(line);
  }
  const kept: string[] = [];
  const seen = new Map<string, number>();
  const requests = new Set<string>();
  for (const entry of entries) {
    const head = entry[0] ?? '';
    const service = /rpc\.service=("[^"]*"|\S+)/.exec(entry.join(' '))?.[1]?.replaceAll('"', '');
    const operation = /rpc\.method=(\S+)/.exec(entry.join(' '))?.[1];
    const name = `${service}.${operation}`;
    if (!OPERATIONS.has(name)) continue;
    const id = /tf_req_id=(\S+)/.exec(entry.join(' '))?.[1] ?? '';
    if (head.includes('HTTP Request Sent')) {
      if (ONLY[name] && !ONLY[name].test(entry.join(' '))) continue;
      const count = seen.get(name) ?? 0;
      if (count >= PER_OPERATION) continue;
      seen.set(name, count + 1);
      requests.add(`${id}|${name}`);
      kept.push(entry.join('\n'));
    } else if (head.includes('HTTP Response Received') && requests.has(`${id}|${name}`)) {
      kept.push(entry.join('\n'));
    }
  }
  const text = `${kept.join('\n')}\n`;
  const bodyPrefixes = parseTerraformLog(text)
    .filter((call) => call.truncated)
    .map((call) => call.body);
  return { text, bodyPrefixes };
}

const [work, out] = process.argv.slice(2);
if (!work || !out) throw new Error('usage: fixture.js <rehearsal work dir> <fixture dir>');
const recording = readFileSync(join(work, 'moto-recording.jsonl'), 'utf8').split('\n');
const needed: string[] = [];
for (const phase of ['apply', 'plan']) {
  const { text, bodyPrefixes } = cut(readFileSync(join(work, 'logs', `dev-${phase}.log`), 'utf8'));
  writeFileSync(join(out, `dev-${phase}.log`), text);
  for (const prefix of bodyPrefixes) {
    const line = recording.find((candidate) => {
      if (candidate.trim() === '') return false;
      const entry = JSON.parse(candidate) as { body?: string; body_encoded?: boolean };
      const body = entry.body_encoded
        ? Buffer.from(entry.body ?? '', 'base64').toString('utf8')
        : (entry.body ?? '');
      return body.startsWith(prefix);
    });
    if (!line) throw new Error(`no recorded request completes a truncated ${phase} body`);
    // Only the body: the recorded headers hold request signatures (of test keys, but still).
    const { body, body_encoded } = JSON.parse(line) as { body?: string; body_encoded?: boolean };
    needed.push(JSON.stringify({ body, body_encoded }));
  }
}
writeFileSync(join(out, 'moto-recording.jsonl'), `${[...new Set(needed)].join('\n')}\n`);

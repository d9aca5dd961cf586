import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  completeBodies,
  evaluate,
  iamRequests,
  keyTagsOf,
  parseTerraformLog,
  type RecordedCall,
  roleBoundariesOf,
} from '../../rehearsal/calls';
import { CI } from '../../stacks/config';
import { boundaryPolicyName } from '../../stacks/constructs/boundary';
import { resolvedPolicy, resourceNamed, resourcesOf, STATE, type Statement, synthBootstrap } from './synth';

// Calls Terraform really made: cut from a deploy rehearsal against moto (how: __tests__/fixtures/
// terraform-calls/README.md). The check is the rehearsal's own (rehearsal/calls.ts); here it runs on
// the fixture against the roles the bootstrap stack synthesizes, and against roles missing what the
// first deploy would have lacked.
const FIXTURE = join(__dirname, '..', 'fixtures', 'terraform-calls');
const ACCOUNT = CI.accountId;
const REGION = STATE.region;
const STATE_KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

const bootstrap = synthBootstrap();
const policyOf = (fragment: string) =>
  resolvedPolicy(resourceNamed(bootstrap, 'aws_iam_role_policy', fragment)[1].policy, ACCOUNT, REGION, {
    stateKeyArn: STATE_KEY_ARN,
    boundaryName: boundaryPolicyName,
  });
const recording = readFileSync(join(FIXTURE, 'moto-recording.jsonl'), 'utf8');
/** Every key of the project is an EncryptionKey with the same key policy: it delegates to IAM policies. */
const KEY_POLICY = resolvedPolicy(
  Object.values(resourcesOf(bootstrap, 'aws_kms_key'))[0]?.policy,
  ACCOUNT,
  REGION,
  { stateKeyArn: STATE_KEY_ARN, boundaryName: boundaryPolicyName },
);

function calls(phase: 'apply' | 'plan'): RecordedCall[] {
  const parsed = parseTerraformLog(readFileSync(join(FIXTURE, `dev-${phase}.log`), 'utf8'));
  completeBodies(parsed, recording);
  return parsed;
}

/** The requests of a run that `policy` does not allow, as `action resource (call)`. */
async function refused(phase: 'apply' | 'plan', policy: Record<string, unknown>): Promise<string[]> {
  const run = calls(phase);
  const context = {
    accountId: ACCOUNT,
    region: REGION,
    keyTags: keyTagsOf(calls('apply')),
    roleBoundaries: roleBoundariesOf(calls('apply')),
    workgroup: 'agent-etl-dev',
  };
  const requests = (await Promise.all(run.map((call) => iamRequests(call, context)))).flat();
  const verdicts = await evaluate(requests, policy, { accountId: ACCOUNT, keyPolicy: KEY_POLICY });
  return verdicts
    .filter((verdict) => verdict.decision !== 'Allowed')
    .map(({ request }) => `${request.action} ${request.resource} (${request.call})`);
}

/** The same policy without `action` anywhere, or without the statement `sid`. */
function without(
  policy: Record<string, unknown>,
  change: { action?: string; sid?: string },
): Record<string, unknown> {
  const statements = (policy.Statement as Statement[])
    .filter((statement) => statement.Sid !== change.sid)
    .map((statement) => ({ ...statement, Action: statement.Action.filter((a) => a !== change.action) }))
    .filter((statement) => statement.Action.length > 0);
  return { ...policy, Statement: statements };
}

describe('the fixture', () => {
  test('holds the calls the first deploy stumbled on, each body complete', () => {
    const names = calls('apply').map((call) => `${call.service}.${call.operation}`);
    expect(names).toEqual(
      expect.arrayContaining(['KMS.CreateKey', 'Glue.CreateTable', 'Glue.GetPartitionIndexes']),
    );
    expect(calls('apply').filter((call) => call.truncated)).toEqual([]);
    expect(calls('plan').map((call) => `${call.service}.${call.operation}`)).toContain(
      'Glue.GetPartitionIndexes',
    );
    // Terraform writing an Iceberg table's first metadata file into the gold bucket, and reading it back.
    const seedCalls = (phase: 'apply' | 'plan') =>
      calls(phase)
        .filter((call) => call.service === 'S3' && /-gold-[^/]+\/gold\/\w+\/metadata\/00000-/.test(call.url))
        .map((call) => call.operation);
    expect(seedCalls('apply')).toEqual(
      expect.arrayContaining(['PutObject', 'HeadObject', 'GetObjectTagging']),
    );
    expect(seedCalls('plan')).toEqual(expect.arrayContaining(['HeadObject', 'GetObjectTagging']));
  });

  test('a truncated body with no recorded request is an error naming the call', () => {
    const run = parseTerraformLog(readFileSync(join(FIXTURE, 'dev-apply.log'), 'utf8'));
    expect(run.some((call) => call.truncated)).toBe(true);
    expect(() => completeBodies(run, '')).toThrow(/truncated in the log and not in the recording/);
  });
});

describe('dev deploy role', () => {
  const policy = policyOf('devDeployPolicy');

  test('allows every call of the recorded apply', async () => {
    expect(await refused('apply', policy)).toEqual([]);
  });

  test('without glue:GetPartitionIndexes, the read after CreateTable is refused', async () => {
    const denied = await refused('apply', without(policy, { action: 'glue:GetPartitionIndexes' }));
    expect(denied).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^glue:GetPartitionIndexes arn:aws:glue:eu-west-1:111122223333:table\/agent_etl_dev\/\w+ \(Glue\.GetPartitionIndexes/,
        ),
      ]),
    );
  });

  test("without the grant on the tables' first Iceberg metadata files, reading back their tags is refused", async () => {
    // PutObject and HeadObject stay allowed by WriteIcebergMetadata (Glue writes the other tables'
    // first metadata files as the caller); the tags of the objects Terraform wrote are this grant's alone.
    const denied = await refused('apply', without(policy, { sid: 'ManageIcebergTableSeeds' }));
    expect(denied.length).toBeGreaterThan(0);
    for (const line of denied) {
      expect(line).toMatch(
        /^s3:GetObjectTagging arn:aws:s3:::agent-etl-dev-gold-111122223333-eu-west-1\/gold\/\w+\/metadata\/00000-[0-9a-f-]+\.metadata\.json \(S3\.GetObjectTagging/,
      );
    }
  });

  test('without kms:TagResource unbound to a key, CreateKey with the default tags is refused', async () => {
    const denied = await refused('apply', without(policy, { sid: 'TagKeysOnCreate' }));
    expect(denied).toEqual([
      expect.stringMatching(
        /^kms:TagResource arn:aws:kms:eu-west-1:111122223333:key\/[0-9a-f-]+ \(KMS\.CreateKey/,
      ),
    ]);
  });
});

describe('plan role', () => {
  const policy = policyOf('planPolicy');

  test("without the grant on the tables' first Iceberg metadata files, refreshing them is refused", async () => {
    const denied = await refused('plan', without(policy, { sid: 'ReadIcebergTableSeeds' }));
    expect(denied.length).toBeGreaterThan(0);
    for (const line of denied) {
      expect(line).toMatch(
        /^s3:(GetObject|GetObjectTagging) arn:aws:s3:::agent-etl-dev-gold-111122223333-eu-west-1\/gold\/\w+\/metadata\/00000-[0-9a-f-]+\.metadata\.json \(S3\.(HeadObject|GetObjectTagging)/,
      );
    }
    expect(new Set(denied.map((line) => line.split(' ')[0]))).toEqual(
      new Set(['s3:GetObject', 's3:GetObjectTagging']),
    );
  });

  test('allows every call of the recorded plan', async () => {
    expect(await refused('plan', policy)).toEqual([]);
  });

  test('without glue:GetPartitionIndexes, every plan fails on refresh', async () => {
    const denied = await refused('plan', without(policy, { action: 'glue:GetPartitionIndexes' }));
    expect(denied.length).toBeGreaterThan(0);
    expect(denied.every((line) => line.startsWith('glue:GetPartitionIndexes '))).toBe(true);
  });
});

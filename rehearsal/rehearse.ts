import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { GlueClient } from '@aws-sdk/client-glue';
import {
  DeleteObjectsCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  GetQueueAttributesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type Emulator, startEmulator } from '../emulator/moto';
import { CI, ENVIRONMENTS, PROJECT } from '../stacks/config';
import { checkRuns, describeDenied, type RunToCheck, type RunVerdict } from './check-calls';
import { findIcebergTables } from './iceberg-check';
import { OVERRIDE_FILE, writeProviderOverride, writeS3BackendConfig } from './overrides';
import {
  synthesizedResourceCount,
  synthesizeToTemp,
  type TerraformSetup,
  terraform,
  terraformOk,
  terraformSetup,
} from './terraform';

/**
 * `npm run rehearse`: every stack deployed with the real Terraform and AWS provider against moto (an AWS
 * API emulator) on 127.0.0.1, the way CI deploys it (init, apply, output; docs/deploy.md, "Deploy
 * rehearsal"). Prints a table and exits 1 when any check fails.
 */

const ROOT = resolve(__dirname, '..');
const REGION = ENVIRONMENTS[0]?.region ?? 'eu-west-1';
const STATE_BUCKET = `${PROJECT}-tfstate-rehearsal`;

/** The outputs the ops CLI reads (cli/ops/aws-target.ts, StackOutputsSchema), checked on every pipeline stack. */
const OPS_OUTPUTS = [
  'bronze_bucket',
  'state_machine_arn',
  'athena_workgroup',
  'glue_database',
  'pending_queue_url',
  'drain_state_machine_arn',
];

interface StackReport {
  stack: string;
  mode: 'apply' | 'plan';
  synthesized: number;
  inState: number | undefined;
  secondPlan: string;
  outputs: string;
  seconds: number;
  logs: string[];
  /** The stack's KMS key policy as applied (from its state), for the call check. */
  keyPolicy?: Record<string, unknown>;
}

interface TerraformState {
  resources: { type: string; instances: { attributes: Record<string, unknown> }[] }[];
}

interface Check {
  what: string;
  ok: boolean;
  detail: string;
}

const checks: Check[] = [];
function check(what: string, ok: boolean, detail: string): void {
  checks.push({ what, ok, detail });
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}: ${detail}`);
}

function requireTools(): void {
  for (const [tool, args, hint] of [
    ['terraform', ['version'], 'install Terraform 1.11 (https://developer.hashicorp.com/terraform/install)'],
    [process.env.AGENT_ETL_PYTHON ?? 'python3', ['-c', 'import moto.server'], 'pip install "moto[server]"'],
  ] as const) {
    try {
      execFileSync(tool, args, { stdio: 'ignore' });
    } catch {
      throw new Error(`the rehearsal needs ${tool} ${args.join(' ')} to work: ${hint}`);
    }
  }
}

function run(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    execFile(
      command,
      args,
      { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        done({ code: error ? Number(error.code ?? 1) : 0, out: `${stdout}${stderr}` });
      },
    );
  });
}

/** init, apply (or plan only), count, second plan, outputs: one stack. */
async function rehearseStack(
  name: string,
  dir: string,
  mode: 'apply' | 'plan',
  setup: TerraformSetup,
  emulator: Emulator,
  logDir: string,
  initArgs: readonly string[],
): Promise<{ report: StackReport; outputs: Record<string, string> }> {
  const started = Date.now();
  const logs: string[] = [];
  const env = (phase: string) => {
    const log = join(logDir, `${name}-${phase}.log`);
    logs.push(log);
    return { ...setup.env, ...emulator.env, TF_LOG_PROVIDER: 'DEBUG', TF_LOG_PATH: log };
  };
  writeProviderOverride(dir, emulator.endpoint);
  await terraformOk(['init', '-input=false', '-no-color', ...initArgs], dir, {
    ...setup.env,
    ...emulator.env,
  });
  const synthesized = synthesizedResourceCount(dir);
  const report: StackReport = {
    stack: name,
    mode,
    synthesized,
    inState: undefined,
    secondPlan: '-',
    outputs: '-',
    seconds: 0,
    logs,
  };
  let outputs: Record<string, string> = {};
  if (mode === 'plan') {
    const plan = await terraformOk(
      ['plan', '-input=false', '-no-color', '-detailed-exitcode'],
      dir,
      env('plan'),
      [0, 2],
    );
    const planned = /Plan: (\d+) to add, (\d+) to change, (\d+) to destroy/.exec(plan.stdout);
    report.secondPlan = planned ? `plan only: ${planned[1]} to add` : 'plan only';
    check(
      `${name}: plan`,
      planned?.[1] === String(synthesized),
      `${planned?.[1] ?? '?'} to add, ${synthesized} synthesized`,
    );
  } else {
    await terraformOk(['apply', '-input=false', '-no-color', '-auto-approve'], dir, env('apply'));
    const list = await terraformOk(['state', 'list'], dir, { ...setup.env, ...emulator.env });
    // `state list` names data sources too (`data.`); the synthesized count is of resources.
    report.inState = list.stdout
      .split('\n')
      .filter((line) => line.trim() !== '' && !/^data\.|\.data\./.test(line)).length;
    check(
      `${name}: resources in state`,
      report.inState === synthesized,
      `${report.inState} in state, ${synthesized} synthesized`,
    );
    const second = await terraform(
      ['plan', '-input=false', '-no-color', '-detailed-exitcode'],
      dir,
      env('plan'),
    );
    report.secondPlan =
      second.code === 0 ? 'no changes' : second.code === 2 ? 'CHANGES' : `error ${second.code}`;
    check(
      `${name}: second plan`,
      second.code === 0,
      second.code === 0 ? 'no changes' : `${second.stdout.slice(-3000)}${second.stderr.slice(-2000)}`,
    );
    const pulled = await terraformOk(['state', 'pull'], dir, { ...setup.env, ...emulator.env });
    const key = (JSON.parse(pulled.stdout) as TerraformState).resources.find((r) => r.type === 'aws_kms_key');
    const keyPolicy = key?.instances[0]?.attributes.policy;
    if (typeof keyPolicy === 'string') report.keyPolicy = JSON.parse(keyPolicy) as Record<string, unknown>;
    const out = await terraformOk(['output', '-json'], dir, { ...setup.env, ...emulator.env });
    const parsed = JSON.parse(out.stdout) as Record<string, { value: unknown }>;
    outputs = Object.fromEntries(Object.entries(parsed).map(([key, { value }]) => [key, String(value)]));
    const declared = Object.keys(
      (JSON.parse(readFileSync(join(dir, 'cdk.tf.json'), 'utf8')) as { output?: Record<string, unknown> })
        .output ?? {},
    );
    const missing = declared.filter((key) => !outputs[key]);
    const opsMissing = name === 'bootstrap' ? [] : OPS_OUTPUTS.filter((key) => !outputs[key]);
    report.outputs = `${declared.length - missing.length}/${declared.length}`;
    check(
      `${name}: outputs`,
      missing.length === 0 && opsMissing.length === 0,
      missing.length ? `missing ${missing.join(', ')}` : `${declared.length} present`,
    );
  }
  report.seconds = Math.round((Date.now() - started) / 1000);
  return { report, outputs };
}

/**
 * The partitioned Iceberg tables as the applied stack left them in the emulator: each Glue table carries
 * `table_type=ICEBERG` and a `metadata_location` whose object exists, is KMS-encrypted and holds the
 * table's partition spec (stacks/constructs/iceberg-metadata.ts). Terraform's state cannot tell: the
 * provider keeps both parameters of an Iceberg table out of it.
 */
async function checkIcebergTables(stack: string, outputs: Record<string, string>): Promise<void> {
  const glue = new GlueClient({ region: REGION });
  const s3 = new S3Client({ region: REGION, forcePathStyle: true });
  const database = String(outputs.glue_database);
  const gold = String(outputs.gold_bucket);
  for (const finding of await findIcebergTables(glue, s3, database, gold)) {
    check(
      `${stack}: ${finding.table} is a partitioned Iceberg table`,
      finding.problems.length === 0,
      finding.problems.length === 0 ? finding.detail : finding.problems.join('; '),
    );
  }
}

/** Empties a versioned bucket (every version and delete marker): S3 deletes only empty buckets. */
async function emptyBucket(s3: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => ({
      Key: v.Key ?? '',
      VersionId: v.VersionId,
    }));
    if (objects.length === 0) return;
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
  }
}

/** The ops CLI against the emulated dev stack, through the real AWS SDK (AWS_ENDPOINT_URL). */
async function rehearseOps(outputs: Record<string, string>, emulator: Emulator, work: string): Promise<void> {
  const environment = 'dev';
  const outputsFile = join(work, 'cdktf-outputs.json');
  writeFileSync(outputsFile, JSON.stringify({ [environment]: outputs }, null, 2));
  const env = { ...emulator.env, AWS_REGION: REGION };
  const s3 = new S3Client({ region: REGION, forcePathStyle: true });
  const sqs = new SQSClient({ region: REGION });
  const bronze = String(outputs.bronze_bucket);
  const queue = String(outputs.pending_queue_url);
  const sample = readFileSync(join(ROOT, 'data', 'sample', 'agent-events-week.csv'));
  const keys = ['rehearsal/2024-11-04.csv', 'rehearsal/2024-11-05.csv'];
  for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: bronze, Key: key, Body: sample }));
  const cli = (...args: string[]) =>
    run(
      process.execPath,
      [join(ROOT, 'bin', 'agent-etl.js'), ...args, '--aws', '--env', environment, '--outputs', outputsFile],
      env,
    );
  const waiting = async () => {
    const attributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queue, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    return Number(attributes.Attributes?.ApproximateNumberOfMessages ?? 0);
  };

  const status = await cli('status', '--days', '3');
  // Exit 3 is status's documented answer for gaps or failed runs: a new environment has no data yet.
  check(
    'ops: status --aws',
    status.code === 0 || status.code === 3,
    `exit ${status.code}; ${status.out.trim().split('\n').slice(0, 3).join(' | ')}`,
  );

  const rerun = await cli('rerun', `${bronze}/${keys[0]}`);
  const received = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queue, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
  );
  const bodies = (received.Messages ?? []).map(
    (m) => JSON.parse(m.Body ?? '{}') as { bucket?: string; key?: string; etag?: string },
  );
  const queued = bodies.find((body) => body.key === keys[0]);
  check(
    'ops: rerun --aws',
    rerun.code === 0 && queued?.bucket === bronze && /^[0-9a-f]{32}$/.test(queued?.etag ?? ''),
    `exit ${rerun.code}; pending queue holds ${JSON.stringify(queued ?? null)}`,
  );
  await sqs.send(new PurgeQueueCommand({ QueueUrl: queue }));

  const backfill = await cli('backfill', `s3://${bronze}/rehearsal/`);
  const count = await waiting();
  check(
    'ops: backfill --aws',
    backfill.code === 0 && count === keys.length,
    `exit ${backfill.code}; ${count} messages queued for ${keys.length} objects`,
  );
  await emptyBucket(s3, bronze);
}

/** The CI role policies as the bootstrap apply created them, by role name. */
function rolePolicies(bootstrapState: string): Record<string, Record<string, unknown>> {
  const state = JSON.parse(readFileSync(bootstrapState, 'utf8')) as TerraformState;
  const policies: Record<string, Record<string, unknown>> = {};
  for (const resource of state.resources.filter((r) => r.type === 'aws_iam_role_policy')) {
    for (const { attributes } of resource.instances) {
      policies[String(attributes.role)] = JSON.parse(String(attributes.policy)) as Record<string, unknown>;
    }
  }
  return policies;
}

/**
 * Item 4 of the rehearsal: every AWS call Terraform made for a pipeline stack, evaluated against the CI
 * role that makes it: an apply's calls (refresh included) against the environment's deploy role, a
 * plan's against the pull requests' plan role. The bootstrap stack is applied by an administrator.
 */
async function checkCalls(
  reports: readonly StackReport[],
  work: string,
  recordingFile: string,
): Promise<RunVerdict[]> {
  const policies = rolePolicies(join(work, 'terraform.bootstrap.tfstate'));
  const runs: RunToCheck[] = [];
  for (const report of reports.filter((r) => r.stack !== 'bootstrap')) {
    const config = ENVIRONMENTS.find((e) => e.environment === report.stack);
    for (const log of report.logs) {
      const phase = /-(\w+)\.log$/.exec(log)?.[1] ?? 'plan';
      // An apply or a destroy runs in the deploy job; a plan in a pull request's plan job.
      const role = phase === 'plan' ? `${PROJECT}-ci-plan` : `${PROJECT}-ci-deploy-${report.stack}`;
      const policy = policies[role];
      if (!policy) throw new Error(`no policy for role ${role} in the bootstrap state`);
      runs.push({
        label: `${report.stack} ${phase}`,
        log,
        role,
        policy,
        ...(report.keyPolicy ? { keyPolicy: report.keyPolicy } : {}),
        ...(config ? { workgroup: config.namePrefix } : {}),
      });
    }
  }
  const verdicts = await checkRuns(runs, {
    accountId: CI.accountId,
    region: REGION,
    recording: readFileSync(recordingFile, 'utf8'),
  });
  for (const verdict of verdicts) {
    check(
      `${verdict.label}: calls allowed for ${verdict.role}`,
      verdict.denied.length === 0,
      verdict.denied.length === 0
        ? `${verdict.calls} calls, ${verdict.requests} IAM requests, all allowed`
        : `${verdict.denied.length} of ${verdict.requests} refused:\n  ${describeDenied(verdict.denied).join('\n  ')}`,
    );
  }
  return verdicts;
}

function callsTable(verdicts: readonly RunVerdict[]): string[] {
  return [
    '',
    '| run | role | calls | IAM requests | refused |',
    '|-----|------|-------|--------------|---------|',
    ...verdicts.map((v) => `| ${v.label} | ${v.role} | ${v.calls} | ${v.requests} | ${v.denied.length} |`),
  ];
}

function table(reports: readonly StackReport[], calls: readonly string[]): string {
  const rows = [
    ['stack', 'mode', 'synthesized', 'in state', 'second plan', 'outputs', 'seconds'],
    ...reports.map((r) => [
      r.stack,
      r.mode,
      String(r.synthesized),
      r.inState === undefined ? '-' : String(r.inState),
      r.secondPlan,
      r.outputs,
      String(r.seconds),
    ]),
  ];
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  const line = (row: readonly string[]) =>
    `| ${row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [
    line(rows[0] ?? []),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.slice(1).map(line),
    ...calls,
  ].join('\n');
}

async function main(): Promise<number> {
  const started = Date.now();
  requireTools();
  // The only HTTPS peer of this process is the emulator on 127.0.0.1, whose certificate moto makes up.
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  const work = mkdtempSync(join(tmpdir(), 'agent-etl-rehearsal-'));
  const logDir = join(work, 'logs');
  mkdirSync(logDir);
  const setup = terraformSetup(work, process.env);
  const prodMode = process.env.REHEARSE_PROD === 'plan' ? 'plan' : 'apply';
  // moto answers as the account CI config names, so `allowed_account_ids` holds as on AWS.
  const recordingFile = join(work, 'moto-recording.jsonl');
  const emulator = await startEmulator({
    https: true,
    env: {
      MOTO_ACCOUNT_ID: CI.accountId,
      MOTO_ENABLE_RECORDING: 'True',
      MOTO_RECORDER_FILEPATH: recordingFile,
    },
  });
  for (const [key, value] of Object.entries(emulator.env)) process.env[key] = value;
  process.env.AWS_REGION = REGION;
  const reports: StackReport[] = [];
  let verdicts: RunVerdict[] = [];
  let synthDir: string | undefined;
  try {
    const { stacks, outdir } = synthesizeToTemp(ROOT, {
      TF_STATE_BUCKET: STATE_BUCKET,
      TF_STATE_REGION: REGION,
    });
    synthDir = outdir;
    const bootstrapDir = stacks.bootstrap;
    if (!bootstrapDir) throw new Error('no bootstrap stack synthesized');
    // The bootstrap stack keeps its state in a local file; the rehearsal's goes to its own folder.
    const bootstrapOverride = join(bootstrapDir, `backend_${OVERRIDE_FILE}`);
    writeFileSync(
      bootstrapOverride,
      JSON.stringify({
        terraform: [{ backend: [{ local: [{ path: join(work, 'terraform.bootstrap.tfstate') }] }] }],
      }),
    );
    const bootstrap = await rehearseStack('bootstrap', bootstrapDir, 'apply', setup, emulator, logDir, []);
    reports.push(bootstrap.report);
    const backendConfig = writeS3BackendConfig(work, emulator.endpoint);
    let devOutputs: Record<string, string> = {};
    for (const config of ENVIRONMENTS) {
      const dir = stacks[config.environment];
      if (!dir) throw new Error(`no ${config.environment} stack synthesized`);
      const mode = config.environment === 'prod' ? prodMode : 'apply';
      const result = await rehearseStack(config.environment, dir, mode, setup, emulator, logDir, [
        `-backend-config=${backendConfig}`,
      ]);
      reports.push(result.report);
      if (mode === 'apply') await checkIcebergTables(config.environment, result.outputs);
      if (config.environment === 'dev') devOutputs = result.outputs;
    }
    await rehearseOps(devOutputs, emulator, work);
    const devDir = stacks.dev;
    const devReport = reports.find((r) => r.stack === 'dev');
    if (devDir && devReport) {
      const destroyLog = join(logDir, 'dev-destroy.log');
      devReport.logs.push(destroyLog);
      const destroy = await terraform(['destroy', '-input=false', '-no-color', '-auto-approve'], devDir, {
        ...setup.env,
        ...emulator.env,
        TF_LOG_PROVIDER: 'DEBUG',
        TF_LOG_PATH: destroyLog,
      });
      const left = await terraformOk(['state', 'list'], devDir, { ...setup.env, ...emulator.env });
      check(
        'dev: destroy',
        destroy.code === 0 && left.stdout.trim() === '',
        destroy.code === 0 ? 'every resource destroyed' : destroy.stderr.slice(-2000),
      );
    }
    try {
      verdicts = await checkCalls(reports, work, recordingFile);
    } catch (error) {
      check('AWS calls against the CI roles', false, (error as Error).message);
    }
  } finally {
    await emulator.stop();
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  console.log(`\n${table(reports, callsTable(verdicts))}\n`);
  const failed = checks.filter((c) => !c.ok);
  console.log(
    `${checks.length - failed.length}/${checks.length} checks passed in ${seconds} s (logs: ${logDir})`,
  );
  if (process.env.REHEARSE_KEEP !== '1') {
    if (synthDir) rmSync(synthDir, { recursive: true, force: true });
    if (failed.length === 0) rmSync(work, { recursive: true, force: true });
  }
  return failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);

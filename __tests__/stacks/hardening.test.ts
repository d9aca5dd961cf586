import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { environment, ROOT, ref, resourceNamed, resourcesOf, statementsOf, synthPipeline } from './synth';

const GITHUB = join(ROOT, '.github');
const WORKFLOWS = ['ci.yml', 'deploy.yml'].map((file) => [
  file,
  readFileSync(join(GITHUB, 'workflows', file), 'utf8'),
]);

describe.each(WORKFLOWS)('.github/workflows/%s', (_, workflow) => {
  test('every action is pinned to a full commit SHA, its release in a comment', () => {
    const uses = [...workflow.matchAll(/uses:\s*(\S+)(.*)$/gm)];
    expect(uses.length).toBeGreaterThan(0);
    for (const [, action, rest] of uses) {
      expect({ action, rest }).toEqual({
        action: expect.stringMatching(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/),
        rest: expect.stringMatching(/^ # v\d+\.\d+\.\d+$/),
      });
    }
  });

  test('grants no token permission at workflow level; every job asks for its own', () => {
    expect(workflow).toMatch(/^permissions: \{\}$/m);
    const jobs = workflow
      .slice(workflow.indexOf('\njobs:\n'))
      .split(/\n {2}(?=[a-z-]+:\n)/)
      .slice(1);
    expect(jobs.length).toBeGreaterThan(0);
    for (const job of jobs) expect(job).toMatch(/\n {4}permissions:\n/);
  });

  test('a job that assumes a role refuses to run without the state bucket variable', () => {
    const jobs = workflow.split(/\n {2}(?=[a-z-]+:\n)/).filter((job) => job.includes('role-to-assume'));
    for (const job of jobs) expect(job).toMatch(/test -n "\$TF_STATE_BUCKET" \|\| .*exit 1/);
  });
});

test('deploy has no workflow-wide concurrency group, so a pending prod approval does not block dev', () => {
  const deploy = readFileSync(join(GITHUB, 'workflows', 'deploy.yml'), 'utf8');
  expect(deploy).not.toMatch(/^concurrency:/m);
});

test('Dependabot proposes updates for the pinned actions and for npm', () => {
  const dependabot = readFileSync(join(GITHUB, 'dependabot.yml'), 'utf8');
  expect(dependabot).toMatch(/^version: 2$/m);
  expect(dependabot).toMatch(/package-ecosystem: github-actions\n {4}directory: \//);
  expect(dependabot).toMatch(/package-ecosystem: npm\n {4}directory: \//);
});

describe('Glue 5 job logging', () => {
  const dev = environment('dev');
  const json = synthPipeline(dev);
  const [, job] = resourceNamed(json, 'aws_glue_job', 'loadJob');
  const args = job.default_arguments as Record<string, string>;
  const groups = Object.entries(resourcesOf(json, 'aws_cloudwatch_log_group')).filter(([name]) =>
    name.startsWith('loadJob_'),
  );

  test('sets the Glue 5 log group prefix, not the Glue 4 continuous-logging arguments it ignores', () => {
    expect(args['--custom-logGroup-prefix']).toBe(`/aws-glue/jobs/${dev.namePrefix}-csv-to-parquet`);
    expect(args['--enable-continuous-cloudwatch-log']).toBeUndefined();
    expect(args['--continuous-log-logGroup']).toBeUndefined();
  });

  test('creates the output and error groups under that prefix, retained and encrypted with the lake key', () => {
    const [key] = resourceNamed(json, 'aws_kms_key', 'storage');
    expect(groups.map(([, group]) => group.name).sort()).toEqual(
      ['error', 'output'].map((stream) => `${args['--custom-logGroup-prefix']}/${stream}`),
    );
    for (const [, group] of groups) {
      expect(group.retention_in_days).toBe(dev.retention.logDays);
      expect(group.kms_key_id).toBe(ref('aws_kms_key', key, 'arn'));
    }
  });

  test('the lake key lets CloudWatch Logs use it for exactly those groups', () => {
    const [, key] = resourceNamed(json, 'aws_kms_key', 'storage');
    const statement = statementsOf(key.policy).find((s) => s.Sid === 'CloudWatchLogsEncryptsGlueJobLogs');
    const arns = statement?.Condition?.ArnEquals?.['kms:EncryptionContext:aws:logs:arn'] as string[];
    expect(arns.map((arn) => arn.replace(/^.*:log-group:/, '')).sort()).toEqual(
      groups.map(([, group]) => group.name).sort(),
    );
  });

  test('the job role writes to those groups, and the outputs name them', () => {
    const role = statementsOf(resourceNamed(json, 'aws_iam_role_policy', 'loadJob')[1].policy);
    const logs = role.find((s) => s.Sid === 'JobLogs');
    for (const [, group] of groups) {
      expect(logs?.Resource).toEqual(
        expect.arrayContaining([expect.stringMatching(`:log-group:${group.name}$`)]),
      );
    }
    expect(role.flatMap((s) => ([] as string[]).concat(s.Resource ?? []))).not.toContainEqual(
      expect.stringMatching(/log-group:\/aws-glue\/jobs\/(output|error)$/),
    );
    const outputs = ['output', 'error'].map((stream) => json.output[`glue_job_${stream}_log_group`]?.value);
    expect(outputs).toEqual(
      ['output', 'error'].map((stream) => {
        const [name] = groups.find(([, group]) => String(group.name).endsWith(`/${stream}`)) ?? [''];
        return ref('aws_cloudwatch_log_group', name, 'name');
      }),
    );
  });
});

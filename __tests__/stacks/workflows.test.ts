import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './synth';

const WORKFLOWS = join(ROOT, '.github', 'workflows');
const read = (file: string) => readFileSync(join(WORKFLOWS, file), 'utf8');
const VALIDATOR = join(ROOT, 'node_modules', '.bin', 'action-validator');

/** The YAML block of one job: from `  <job>:` to the next job or the end. */
const jobBlock = (workflow: string, job: string) => {
  const start = workflow.indexOf(`\n  ${job}:\n`);
  const rest = workflow.slice(start + 1);
  const next = rest.slice(1).search(/\n {2}[a-z-]+:\n/);
  return next === -1 ? rest : rest.slice(0, next + 1);
};

describe('.github/workflows', () => {
  test.each(['ci.yml', 'deploy.yml'])('%s passes action-validator', (file) => {
    expect(() => execFileSync(VALIDATOR, [join(WORKFLOWS, file)], { stdio: 'pipe' })).not.toThrow();
  });

  test('ci installs, lints, tests, synthesizes, and on pull requests posts a cdktf diff per stack', () => {
    const ci = read('ci.yml');
    for (const step of ['npm ci', 'npm run lint', 'npm test', 'npm run synth'])
      expect(ci).toContain(`run: ${step}`);
    const plan = jobBlock(ci, 'plan');
    expect(plan).toContain("github.event_name == 'pull_request'");
    expect(plan).toContain('stack: [dev, prod]');
    expect(plan).toMatch(/npx cdktf diff \$\{\{ matrix\.stack \}\}/);
    expect(plan).toContain('id-token: write');
    expect(plan).toContain('github.rest.issues.createComment');
  });

  test('pull requests rehearse the deploy against the emulator before the plan comment, and plan without a lock', () => {
    const ci = read('ci.yml');
    const rehearse = jobBlock(ci, 'rehearse');
    expect(rehearse).toContain('run: npm run rehearse');
    expect(rehearse).toContain('moto[server]');
    expect(rehearse).toContain('terraform_version: 1.11.4');
    const plan = jobBlock(ci, 'plan');
    expect(plan).toContain('needs: [test, rehearse]');
    expect(plan).toContain('TF_CLI_ARGS_plan: -lock=false');
  });

  test('every job runs Node 22 and Terraform 1.11.4, the versions the rehearsal used', () => {
    for (const file of ['ci.yml', 'deploy.yml']) {
      const text = read(file);
      expect(text.match(/node-version: (\d+)/g)?.every((line) => line === 'node-version: 22')).toBe(true);
      expect(
        text.match(/terraform_version: (\S+)/g)?.every((line) => line === 'terraform_version: 1.11.4'),
      ).toBe(true);
    }
  });

  test('deploy assumes a role through OIDC, never stored keys, one deploy per environment at a time, prod behind approval', () => {
    const deploy = read('deploy.yml');
    expect(deploy).toMatch(/on:\n {2}push:\n {4}branches: \[main\]/);
    expect(deploy).toContain('id-token: write');
    expect(deploy).not.toMatch(/aws-access-key-id|aws-secret-access-key|AWS_SECRET|secrets\./i);
    expect(deploy.match(/role-to-assume:/g)).toHaveLength(2);
    const prod = jobBlock(deploy, 'prod');
    expect(prod).toContain('environment: prod');
    expect(prod).toContain('needs: dev');
    expect(prod).toContain('npx cdktf deploy prod');
    expect(prod).toMatch(/concurrency:\n {6}group: deploy-prod\n {6}cancel-in-progress: false/);
    expect(jobBlock(deploy, 'dev')).toMatch(
      /concurrency:\n {6}group: deploy-dev\n {6}cancel-in-progress: false/,
    );
    expect(jobBlock(deploy, 'dev')).toContain('npx cdktf deploy dev');
  });
});

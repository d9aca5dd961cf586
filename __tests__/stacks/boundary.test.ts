import { runSimulation } from '@cloud-copilot/iam-simulate';
import { ENVIRONMENTS } from '../../stacks/config';
import { boundaryStatements, PIPELINE_BOUNDARY_ACTIONS } from '../../stacks/constructs/boundary';
import { policyDocument } from '../../stacks/constructs/iam';
import { resourcesOf, statementsOf, synthPipeline } from './synth';

const ACCOUNT = '111122223333';
const boundary = JSON.parse(policyDocument(boundaryStatements())) as Record<string, unknown>;

/** IAM's decision for a role holding `policy`, capped by the pipeline boundary (or not). */
async function decide(policy: Record<string, unknown>, action: string, capped: boolean): Promise<string> {
  const result = await runSimulation(
    {
      identityPolicies: [{ name: 'inline', policy }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(capped ? { permissionBoundaryPolicies: [{ name: 'boundary', policy: boundary }] } : {}),
      request: {
        action,
        principal: `arn:aws:iam::${ACCOUNT}:role/agent-etl-dev-notify`,
        resource: { accountId: ACCOUNT, resource: `arn:aws:iam::${ACCOUNT}:user/intruder` },
        contextVariables: {},
      },
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(JSON.stringify(result.errors));
  return result.overallResult;
}

describe.each(ENVIRONMENTS.map((config) => [config.environment, config] as const))('%s stack', (name) => {
  const json = synthPipeline(ENVIRONMENTS.find((config) => config.environment === name));

  test("every role carries the environment's boundary, built from the deploying account", () => {
    const roles = Object.entries(resourcesOf(json, 'aws_iam_role'));
    expect(roles.length).toBeGreaterThan(5);
    for (const [role, block] of roles) {
      expect({ role, boundary: block.permissions_boundary }).toEqual({
        role,
        boundary: expect.stringMatching(
          new RegExp(
            `^arn:\\$\\{data\\.aws_partition\\.[^}]+\\}:iam::\\$\\{data\\.aws_caller_identity\\.[^}]+\\}:policy/agent-activity-etl-pipeline-boundary-${name}$`,
          ),
        ),
      });
    }
  });

  test('the boundary admits exactly the actions the roles use: none is cut off, none is spare', () => {
    const used = new Set<string>();
    for (const block of Object.values(resourcesOf(json, 'aws_iam_role_policy'))) {
      for (const statement of statementsOf(block.policy))
        for (const action of statement.Action) used.add(action);
    }
    expect([...used].filter((action) => !PIPELINE_BOUNDARY_ACTIONS.includes(action))).toEqual([]);
    if (name === 'dev') {
      expect(PIPELINE_BOUNDARY_ACTIONS.filter((action) => !used.has(action))).toEqual([]);
    }
  });
});

describe('the boundary caps whatever a role is given', () => {
  const admin = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'iam:*', Resource: '*' }] };

  test('an inline policy granting IAM does not take effect on a bounded role', async () => {
    expect(await decide(admin, 'iam:CreateUser', false)).toBe('Allowed');
    expect(await decide(admin, 'iam:CreateUser', true)).toBe('ImplicitlyDenied');
    expect(await decide(admin, 'iam:AttachUserPolicy', true)).toBe('ImplicitlyDenied');
  });

  test('names no wildcard action', () => {
    expect(PIPELINE_BOUNDARY_ACTIONS.filter((action) => action.includes('*'))).toEqual([]);
  });
});

import { isWildcardOnlyAction, runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';

/**
 * The AWS calls a Terraform run made, read from the provider's debug log (`TF_LOG_PROVIDER=DEBUG`):
 * the AWS SDK logs every request as `HTTP Request Sent` with its service, operation, URL and body.
 */
export interface RecordedCall {
  readonly service: string;
  readonly operation: string;
  /** The Terraform resource type being read or changed, when the call was made for one. */
  readonly resourceType: string | undefined;
  /** The provider RPC: ConfigureProvider, ReadResource, ApplyResourceChange, ReadDataSource, ... */
  readonly rpc: string | undefined;
  readonly httpMethod: string;
  readonly url: string;
  body: string;
  /** The log cuts bodies at about 2 KB; `completeBodies` restores them from the emulator's recording. */
  truncated: boolean;
  /** The answer's body, when the log holds it (CreateKey's answer names the new key). */
  responseBody?: string;
  readonly requestId: string | undefined;
}

/** `key=value` and `key="quoted value"` fields of one logfmt line (hclog's format). */
function fields(line: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const match of line.matchAll(/([\w.@]+)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    const [, key = '', raw = ''] = match;
    found[key] = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
  }
  return found;
}

/** Splits a log into entries (a new entry starts with a timestamp) and keeps the AWS requests. */
export function parseTerraformLog(text: string): RecordedCall[] {
  const entries: string[][] = [];
  for (const line of text.split('\n')) {
    if (/^\d{4}-\d\d-\d\dT/.test(line) || entries.length === 0) entries.push([line]);
    else entries[entries.length - 1]?.push(line);
  }
  const calls: RecordedCall[] = [];
  const pending = new Map<string, RecordedCall>();
  for (const entry of entries) {
    const head = entry.filter((line) => !line.startsWith('  | ')).join(' ');
    const bodyLines = entry.filter((line) => line.startsWith('  | ')).map((line) => line.slice(4));
    const truncated = bodyLines[bodyLines.length - 1] === '[truncated...]';
    const body = (truncated ? bodyLines.slice(0, -1) : bodyLines).join('\n');
    const sent = head.includes('HTTP Request Sent');
    if (!sent && !head.includes('HTTP Response Received')) continue;
    const f = fields(head.slice(head.indexOf(':', head.indexOf('provider.')) + 1));
    const service = f['rpc.service'];
    const operation = f['rpc.method'];
    if (!service || !operation) continue;
    const key = `${f.tf_req_id}|${service}|${operation}`;
    if (sent) {
      const call: RecordedCall = {
        service,
        operation,
        resourceType: f.tf_resource_type || f.tf_data_source_type || undefined,
        rpc: f.tf_rpc,
        httpMethod: f['http.method'] ?? 'POST',
        url: f['http.url'] ?? '',
        body,
        truncated,
        requestId: f.tf_req_id,
      };
      calls.push(call);
      pending.set(key, call);
    } else {
      const call = pending.get(key);
      if (call) call.responseBody = body;
      pending.delete(key);
    }
  }
  return calls;
}

/**
 * Puts back the full body of each truncated call from moto's request recording (`MOTO_ENABLE_RECORDING`,
 * one JSON object a line with `body`, base64 when `body_encoded`): the recorded request whose body
 * starts with the logged prefix. A call left truncated is an error: its tags or names may be missing.
 */
export function completeBodies(calls: readonly RecordedCall[], recording: string): void {
  const bodies = recording
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const entry = JSON.parse(line) as { body?: string | null; body_encoded?: boolean };
      const body = entry.body ?? '';
      return entry.body_encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
    });
  for (const call of calls) {
    if (!call.truncated) continue;
    const full = bodies.find((body) => body.startsWith(call.body));
    if (!full)
      throw new Error(`${call.service}.${call.operation}: truncated in the log and not in the recording`);
    call.body = full;
    call.truncated = false;
  }
}

/** One authorization IAM makes for a call: action, resource ARN, request context. */
export interface IamRequest {
  readonly action: string;
  readonly resource: string;
  readonly context: Record<string, string | string[]>;
  /** What the request came from, for messages. */
  readonly call: string;
}

/** IAM's prefix for each SDK service name the provider logs. */
const PREFIX: Record<string, string> = {
  S3: 's3',
  IAM: 'iam',
  KMS: 'kms',
  STS: 'sts',
  SQS: 'sqs',
  SNS: 'sns',
  DynamoDB: 'dynamodb',
  Lambda: 'lambda',
  SFN: 'states',
  EventBridge: 'events',
  'CloudWatch Events': 'events',
  Glue: 'glue',
  Athena: 'athena',
  'CloudWatch Logs': 'logs',
  CloudWatch: 'cloudwatch',
  Scheduler: 'scheduler',
  SSM: 'ssm',
};

/**
 * S3 operations authorized under another action name (Amazon S3 API Reference, each operation's
 * "Permissions"; Service Authorization Reference, "Actions defined by Amazon S3").
 */
const S3_ACTIONS: Record<string, string> = {
  HeadBucket: 's3:ListBucket',
  ListObjects: 's3:ListBucket',
  ListObjectsV2: 's3:ListBucket',
  ListObjectVersions: 's3:ListBucketVersions',
  HeadObject: 's3:GetObject',
  DeleteObjects: 's3:DeleteObject',
  GetBucketLifecycleConfiguration: 's3:GetLifecycleConfiguration',
  PutBucketLifecycleConfiguration: 's3:PutLifecycleConfiguration',
  DeleteBucketLifecycle: 's3:PutLifecycleConfiguration',
  GetBucketEncryption: 's3:GetEncryptionConfiguration',
  PutBucketEncryption: 's3:PutEncryptionConfiguration',
  GetBucketCors: 's3:GetBucketCORS',
  GetBucketAccelerateConfiguration: 's3:GetAccelerateConfiguration',
  GetBucketReplication: 's3:GetReplicationConfiguration',
  GetObjectLockConfiguration: 's3:GetBucketObjectLockConfiguration',
  GetPublicAccessBlock: 's3:GetBucketPublicAccessBlock',
  PutPublicAccessBlock: 's3:PutBucketPublicAccessBlock',
  DeletePublicAccessBlock: 's3:PutBucketPublicAccessBlock',
  GetBucketNotificationConfiguration: 's3:GetBucketNotification',
  PutBucketNotificationConfiguration: 's3:PutBucketNotification',
  DeleteBucketPolicy: 's3:DeleteBucketPolicy',
  DeleteBucketOwnershipControls: 's3:PutBucketOwnershipControls',
  DeleteBucketEncryption: 's3:PutEncryptionConfiguration',
};

/** Lambda operations whose IAM action differs from the operation name. */
const LAMBDA_ACTIONS: Record<string, string> = {
  UpdateFunctionCode: 'lambda:UpdateFunctionCode',
  ListTags: 'lambda:ListTags',
};

/**
 * Calls that need no permission, or whose denial the provider expects and handles: STS
 * GetCallerIdentity needs none ("No permissions are required to perform this operation", STS API
 * reference); the provider's account lookup tries iam:GetUser and falls back to STS when refused.
 */
function exempt(call: RecordedCall): boolean {
  if (call.service === 'STS' && call.operation === 'GetCallerIdentity') return true;
  return call.service === 'IAM' && call.operation === 'GetUser' && call.rpc === 'ConfigureProvider';
}

export interface CallContext {
  readonly accountId: string;
  readonly region: string;
  /** Tags of each KMS key by key id, learned from CreateKey requests and answers of the same run(s). */
  readonly keyTags: Map<string, Record<string, string>>;
  /** Workgroup named queries belong to (GetNamedQuery names only the query id). */
  readonly workgroup?: string;
  /** Permissions boundary of each role by name, learned from the CreateRole calls of the run(s). */
  readonly roleBoundaries?: Map<string, string>;
}

function jsonBody(call: RecordedCall): Record<string, unknown> {
  try {
    return JSON.parse(call.body || '{}') as Record<string, unknown>;
  } catch {
    return {};
  }
}

function formBody(call: RecordedCall): URLSearchParams {
  return new URLSearchParams(call.body);
}

/** Tags sent with a create call, in the shapes AWS APIs use. */
export function requestTags(call: RecordedCall): Record<string, string> {
  const tags: Record<string, string> = {};
  if (call.body.trimStart().startsWith('{')) {
    const body = jsonBody(call);
    const raw = body.Tags ?? body.tags;
    if (Array.isArray(raw)) {
      for (const tag of raw as Record<string, string>[]) {
        const key = tag.Key ?? tag.TagKey ?? tag.key;
        const value = tag.Value ?? tag.TagValue ?? tag.value;
        if (key !== undefined) tags[key] = value ?? '';
      }
    } else if (raw && typeof raw === 'object') {
      Object.assign(tags, raw);
    }
  } else if (call.body.includes('Tags.member.')) {
    const form = formBody(call);
    for (let n = 1; form.has(`Tags.member.${n}.Key`); n++) {
      tags[String(form.get(`Tags.member.${n}.Key`))] = String(form.get(`Tags.member.${n}.Value`) ?? '');
    }
  } else if (call.service === 'S3' && call.body.includes('<Tagging')) {
    for (const match of call.body.matchAll(/<Tag><Key>([^<]*)<\/Key><Value>([^<]*)<\/Value><\/Tag>/g)) {
      tags[match[1] ?? ''] = match[2] ?? '';
    }
  }
  return tags;
}

const tagContext = (
  prefix: 'aws:RequestTag' | 'aws:ResourceTag',
  tags: Record<string, string>,
): Record<string, string | string[]> => ({
  ...Object.fromEntries(Object.entries(tags).map(([key, value]) => [`${prefix}/${key}`, value])),
  ...(prefix === 'aws:RequestTag' && Object.keys(tags).length > 0
    ? { 'aws:TagKeys': Object.keys(tags) }
    : {}),
});

/** Path segments of a REST call's URL, decoded. */
const pathOf = (call: RecordedCall): string[] =>
  new URL(call.url, 'https://placeholder').pathname
    .split('/')
    .filter(Boolean)
    .map((segment) => decodeURIComponent(segment));

/** Services the roles hand roles to (iam:PassRole, with iam:PassedToService). */
const PASSES_ROLE: Record<string, string> = {
  Lambda: 'lambda.amazonaws.com',
  SFN: 'states.amazonaws.com',
  Glue: 'glue.amazonaws.com',
  EventBridge: 'events.amazonaws.com',
  'CloudWatch Events': 'events.amazonaws.com',
  Scheduler: 'scheduler.amazonaws.com',
};

/** The role ARNs a create or update call hands to a service (what IAM checks iam:PassRole on). */
function passedRoles(call: RecordedCall): string[] {
  if (!PASSES_ROLE[call.service] || !/^(Create|Update|Put)/.test(call.operation)) return [];
  return [...call.body.matchAll(/"(?:Role|RoleArn|roleArn)"\s*:\s*"(arn:[^"]+:role\/[^"]+)"/g)].map(
    (match) => match[1] ?? '',
  );
}

/**
 * The IAM requests one recorded call amounts to. Resources are the ARNs the Service Authorization
 * Reference lists for each action, built from the call's parameters; actions that take no resource
 * are checked on `*`.
 */
export async function iamRequests(call: RecordedCall, context: CallContext): Promise<IamRequest[]> {
  if (exempt(call)) return [];
  const prefix = PREFIX[call.service];
  if (!prefix) throw new Error(`no IAM prefix known for service ${call.service} (${call.operation})`);
  const { accountId: account, region } = context;
  const arn = (service: string, resource: string) => `arn:aws:${service}:${region}:${account}:${resource}`;
  const label = `${call.service}.${call.operation}${call.resourceType ? ` (${call.resourceType})` : ''}`;
  let action = `${prefix}:${call.operation}`;
  if (call.service === 'S3') action = S3_ACTIONS[call.operation] ?? action;
  if (call.service === 'Lambda') action = LAMBDA_ACTIONS[call.operation] ?? action;
  const [service = prefix, operation = ''] = action.split(':');
  const requests: IamRequest[] = [];
  const push = (resource: string, extra: Record<string, string | string[]> = {}) =>
    requests.push({ action, resource, context: extra, call: label });

  const created = /^Create/.test(call.operation) ? tagContext('aws:RequestTag', requestTags(call)) : {};
  for (const role of passedRoles(call)) {
    requests.push({
      action: 'iam:PassRole',
      resource: role,
      context: { 'iam:PassedToService': PASSES_ROLE[call.service] ?? '' },
      call: label,
    });
  }
  if (await isWildcardOnlyAction(service, operation)) {
    push('*', created);
    if (
      call.service === 'KMS' &&
      call.operation === 'CreateKey' &&
      Object.keys(requestTags(call)).length > 0
    ) {
      // Tagging the new key at creation is authorized as kms:TagResource on it, with the tags sent
      // (KMS developer guide, "Controlling access to tags"); its ARN is in the answer.
      const keyId = /"KeyId"\s*:\s*"([^"]+)"/.exec(call.responseBody ?? '')?.[1] ?? 'new-key';
      requests.push({
        action: 'kms:TagResource',
        resource: arn('kms', `key/${keyId}`),
        context: created,
        call: label,
      });
    }
    return requests;
  }
  const json = call.body.trimStart().startsWith('{') ? jsonBody(call) : {};
  const form = formBody(call);
  const str = (value: unknown) => (typeof value === 'string' ? value : undefined);

  switch (call.service) {
    case 'S3': {
      const [bucket, ...key] = pathOf(call);
      const object = [
        'GetObject',
        'PutObject',
        'HeadObject',
        'DeleteObject',
        'GetObjectTagging',
        'PutObjectTagging',
      ];
      if (object.includes(call.operation)) push(`arn:aws:s3:::${bucket}/${key.join('/')}`);
      else if (call.operation === 'DeleteObjects') push(`arn:aws:s3:::${bucket}/*`);
      else push(`arn:aws:s3:::${bucket}`, call.operation === 'CreateBucket' ? created : {});
      break;
    }
    case 'IAM': {
      const role = form.get('RoleName');
      // iam:PermissionsBoundary: the boundary a CreateRole or PutRolePermissionsBoundary sets, or the
      // one the role already carries (IAM user guide, "IAM condition context keys").
      const boundary =
        form.get('PermissionsBoundary') ??
        (role ? context.roleBoundaries?.get(role) : undefined) ??
        undefined;
      const bounded: Record<string, string> = boundary ? { 'iam:PermissionsBoundary': boundary } : {};
      if (role) push(`arn:aws:iam::${account}:role/${role}`, { ...created, ...bounded });
      else if (form.get('OpenIDConnectProviderArn')) push(String(form.get('OpenIDConnectProviderArn')));
      else if (form.get('Url'))
        push(
          `arn:aws:iam::${account}:oidc-provider/${String(form.get('Url')).replace(/^https:\/\//, '')}`,
          created,
        );
      else throw new Error(`${label}: no resource found in the request`);
      break;
    }
    case 'KMS': {
      const alias = str(json.AliasName);
      const target = str(json.TargetKeyId) ?? str(json.KeyId) ?? '';
      const keyId = target.replace(/^arn:[^:]+:kms:[^:]+:\d+:key\//, '');
      if (!alias && keyId.startsWith('alias/')) {
        // A key named by its alias: authorized on the key it points to, with kms:RequestAlias.
        push(arn('kms', `key/${keyId.slice('alias/'.length).replaceAll('/', '-')}`), {
          'kms:RequestAlias': keyId,
        });
        break;
      }
      const keyArn = arn('kms', `key/${keyId}`);
      const tags = tagContext('aws:ResourceTag', context.keyTags.get(keyId) ?? {});
      if (alias) {
        // CreateAlias and friends are authorized on the alias and on the key (KMS developer guide,
        // "Controlling access to aliases").
        push(arn('kms', alias));
        if (keyId) push(keyArn, tags);
      } else {
        push(keyArn, {
          ...tags,
          ...(call.operation === 'TagResource' ? tagContext('aws:RequestTag', requestTags(call)) : {}),
        });
      }
      break;
    }
    case 'Glue': {
      const database =
        str(json.DatabaseName) ?? (/Database$/.test(call.operation) ? str(json.Name) : undefined);
      const table = str(json.TableName) ?? str((json.TableInput as { Name?: string } | undefined)?.Name);
      const databaseInput = str((json.DatabaseInput as { Name?: string } | undefined)?.Name);
      if (str(json.ResourceArn)) push(String(json.ResourceArn));
      else if (/Job/.test(call.operation))
        push(arn('glue', `job/${str(json.JobName) ?? str(json.Name)}`), created);
      else if (/Crawler/.test(call.operation))
        push(arn('glue', `crawler/${str(json.Name) ?? str(json.CrawlerName)}`), created);
      else if (table && database) {
        // Table calls are authorized on the catalog, the database and the table (AWS Glue developer
        // guide, "Specifying AWS Glue resource ARNs").
        push(arn('glue', 'catalog'));
        push(arn('glue', `database/${database}`));
        push(arn('glue', `table/${database}/${table}`));
      } else if (database ?? databaseInput) {
        push(arn('glue', 'catalog'));
        push(arn('glue', `database/${database ?? databaseInput}`));
      } else throw new Error(`${label}: no resource found in the request`);
      break;
    }
    case 'SFN': {
      const machine = str(json.stateMachineArn) ?? str(json.resourceArn);
      if (machine) push(machine.replace(/:(\d+|\$LATEST)$/, ''));
      else if (str(json.name)) push(arn('states', `stateMachine:${json.name}`), created);
      else throw new Error(`${label}: no resource found in the request`);
      break;
    }
    case 'EventBridge':
    case 'CloudWatch Events': {
      const resourceArn = str(json.ResourceARN);
      const bus = str(json.EventBusName);
      const busName = bus?.includes(':') ? bus.split('/').pop() : bus;
      const rule = str(json.Rule) ?? (/Rule$/.test(call.operation) ? str(json.Name) : undefined);
      if (resourceArn) push(resourceArn);
      else if (rule)
        push(
          arn('events', busName && busName !== 'default' ? `rule/${busName}/${rule}` : `rule/${rule}`),
          created,
        );
      else if (str(json.Name)) push(arn('events', `event-bus/${json.Name}`), created);
      else throw new Error(`${label}: no resource found in the request`);
      break;
    }
    case 'Scheduler': {
      const path = pathOf(call);
      if (path[0] === 'tags') push(path.slice(1).join('/'));
      else {
        const group =
          new URL(call.url, 'https://placeholder').searchParams.get('groupName') ??
          str(json.GroupName) ??
          'default';
        push(arn('scheduler', `schedule/${group}/${path[1]}`), created);
      }
      break;
    }
    case 'Lambda': {
      const path = pathOf(call);
      const tagsAt = path.indexOf('tags');
      if (tagsAt >= 0) push(path.slice(tagsAt + 1).join('/'));
      else {
        const functions = path.indexOf('functions');
        const name = path[functions + 1] ?? str(json.FunctionName) ?? '';
        push(
          name.startsWith('arn:') ? name.replace(/:(\d+|\$LATEST)$/, '') : arn('lambda', `function:${name}`),
          created,
        );
      }
      break;
    }
    case 'CloudWatch Logs': {
      const group = str(json.logGroupName);
      const resourceArn = str(json.resourceArn) ?? str(json.resourceArn);
      if (resourceArn) push(resourceArn.replace(/:\*$/, ''));
      else if (group) push(arn('logs', `log-group:${group}`), created);
      else throw new Error(`${label}: no resource found in the request`);
      break;
    }
    case 'SQS': {
      const url = str(json.QueueUrl) ?? form.get('QueueUrl') ?? undefined;
      const name = url ? url.split('/').pop() : (str(json.QueueName) ?? form.get('QueueName'));
      push(arn('sqs', String(name)), created);
      break;
    }
    case 'SNS': {
      const topic = form.get('TopicArn') ?? form.get('ResourceArn') ?? form.get('SubscriptionArn');
      if (topic) push(topic.split(':').slice(0, 6).join(':'));
      else if (form.get('Name')) push(arn('sns', String(form.get('Name'))), created);
      else throw new Error(`${label}: no resource found in the request`);
      break;
    }
    case 'DynamoDB': {
      const table = str(json.TableName) ?? str(json.ResourceArn)?.split('/').pop();
      push(arn('dynamodb', `table/${table}`), created);
      break;
    }
    case 'CloudWatch': {
      const alarm = form.get('AlarmName') ?? form.get('AlarmNames.member.1') ?? str(json.AlarmName);
      const resourceArn = form.get('ResourceARN') ?? str(json.ResourceARN);
      if (resourceArn) push(resourceArn);
      else if (alarm) push(arn('cloudwatch', `alarm:${alarm}`), created);
      else throw new Error(`${label}: no resource found in the request`);
      break;
    }
    case 'Athena': {
      const workgroup = str(json.WorkGroup) ?? str(json.Name) ?? context.workgroup;
      const resourceArn = str(json.ResourceARN);
      push(resourceArn ?? arn('athena', `workgroup/${workgroup}`), created);
      break;
    }
    default:
      throw new Error(`${label}: no resource rule for service ${call.service}`);
  }
  return requests;
}

/** Key ids and their tags, from the CreateKey calls of the given runs (request tags, answer's KeyId). */
export function keyTagsOf(calls: readonly RecordedCall[]): Map<string, Record<string, string>> {
  const tags = new Map<string, Record<string, string>>();
  for (const call of calls) {
    if (call.service !== 'KMS' || call.operation !== 'CreateKey') continue;
    const keyId = /"KeyId"\s*:\s*"([^"]+)"/.exec(call.responseBody ?? '')?.[1];
    if (keyId) tags.set(keyId, requestTags(call));
  }
  return tags;
}

/** Each role's permissions boundary, from the CreateRole calls of the given runs. */
export function roleBoundariesOf(calls: readonly RecordedCall[]): Map<string, string> {
  const boundaries = new Map<string, string>();
  for (const call of calls) {
    if (call.service !== 'IAM' || !['CreateRole', 'PutRolePermissionsBoundary'].includes(call.operation))
      continue;
    const form = new URLSearchParams(call.body);
    const role = form.get('RoleName');
    const boundary = form.get('PermissionsBoundary');
    if (role && boundary) boundaries.set(role, boundary);
  }
  return boundaries;
}

export interface Verdict {
  readonly request: IamRequest;
  readonly decision: string;
}

/**
 * Evaluates each request as IAM would for a role whose only policy is `policy`. KMS requests on a key
 * are evaluated with the key's policy too (`keyPolicy`, which delegates to IAM).
 */
export async function evaluate(
  requests: readonly IamRequest[],
  policy: Record<string, unknown>,
  options: { accountId: string; keyPolicy?: Record<string, unknown>; principal?: string },
): Promise<Verdict[]> {
  const verdicts: Verdict[] = [];
  const seen = new Map<string, string>();
  for (const request of requests) {
    const id = JSON.stringify([request.action, request.resource, request.context]);
    const known = seen.get(id);
    if (known) {
      verdicts.push({ request, decision: known });
      continue;
    }
    const simulation: Simulation = {
      identityPolicies: [{ name: 'role', policy }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(request.action.startsWith('kms:') && request.resource !== '*' && options.keyPolicy
        ? { resourcePolicy: options.keyPolicy }
        : {}),
      request: {
        action: request.action,
        principal: options.principal ?? `arn:aws:iam::${options.accountId}:role/ci`,
        resource: { accountId: options.accountId, resource: request.resource },
        contextVariables: request.context,
      },
    };
    const result = await runSimulation(simulation, {});
    const decision =
      result.resultType === 'error' ? `error: ${JSON.stringify(result.errors)}` : result.overallResult;
    seen.set(id, decision);
    verdicts.push({ request, decision });
  }
  return verdicts;
}

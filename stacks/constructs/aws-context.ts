import { DataAwsCallerIdentity } from '@cdktf/provider-aws/lib/data-aws-caller-identity';
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition';
import { DataAwsRegion } from '@cdktf/provider-aws/lib/data-aws-region';
import { Construct } from 'constructs';

/** Account, region and partition of the deployment, read once per stack; builds ARNs. */
export class AwsContext extends Construct {
  readonly accountId: string;
  readonly region: string;
  readonly partition: string;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.accountId = new DataAwsCallerIdentity(this, 'callerIdentity').accountId;
    this.region = new DataAwsRegion(this, 'region').name;
    this.partition = new DataAwsPartition(this, 'partition').partition;
  }

  /** `arn:<partition>:<service>:<region>:<account>:<resource>`; `regional: false` for IAM-style ARNs. */
  arn(service: string, resource: string, options: { regional?: boolean; account?: boolean } = {}): string {
    const region = options.regional === false ? '' : this.region;
    const account = options.account === false ? '' : this.accountId;
    return `arn:${this.partition}:${service}:${region}:${account}:${resource}`;
  }

  s3Arn(bucket: string, path?: string): string {
    return `arn:${this.partition}:s3:::${bucket}${path === undefined ? '' : `/${path}`}`;
  }

  logGroupArn(name: string): string {
    return this.arn('logs', `log-group:${name}`);
  }

  /** Log streams of a group: the resource of logs:CreateLogStream and logs:PutLogEvents. */
  logStreamsArn(name: string): string {
    return `${this.logGroupArn(name)}:log-stream:*`;
  }
}

import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission';
import { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic';
import { SnsTopicPolicy } from '@cdktf/provider-aws/lib/sns-topic-policy';
import { SnsTopicSubscription } from '@cdktf/provider-aws/lib/sns-topic-subscription';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { SqsQueuePolicy } from '@cdktf/provider-aws/lib/sqs-queue-policy';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config';
import type { AwsContext } from './aws-context';
import type { EncryptionKey } from './encryption-key';
import { denyInsecureTransport, policyDocument } from './iam';
import { NodeFunction } from './node-function';

export interface NotificationsProps {
  readonly config: EnvironmentConfig;
  readonly context: AwsContext;
  readonly key: EncryptionKey;
  readonly notifyEntry: string;
  readonly bundleRoot: string;
}

/**
 * The alert topic (KMS-encrypted) and its fan-out: the notify Lambda (Slack / webhooks whose URLs sit
 * in SSM SecureString parameters), an optional email address, and an SQS audit queue keeping every alert.
 */
export class Notifications extends Construct {
  readonly topic: SnsTopic;
  readonly notifyFunction: NodeFunction;
  readonly auditQueue: SqsQueue;

  constructor(scope: Construct, id: string, props: NotificationsProps) {
    super(scope, id);
    const { config, context, key } = props;
    this.topic = new SnsTopic(this, 'alertTopic', {
      name: `${config.namePrefix}-alerts`,
      displayName: 'Agent activity ETL alerts',
      kmsMasterKeyId: key.arn,
    });
    new SnsTopicPolicy(this, 'alertTopicPolicy', {
      arn: this.topic.arn,
      policy: policyDocument([
        {
          Sid: 'CloudWatchAlarmsPublish',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: ['sns:Publish'],
          Resource: this.topic.arn,
          Condition: { StringEquals: { 'aws:SourceAccount': context.accountId } },
        },
        denyInsecureTransport(['sns:Publish'], [this.topic.arn]),
      ]),
    });

    const parameterArns = config.webhookParameterNames.map((name) =>
      context.arn('ssm', `parameter/${name.replace(/^\//, '')}`),
    );
    this.notifyFunction = new NodeFunction(this, 'notifyFunction', {
      functionName: `${config.namePrefix}-notify`,
      description: 'Delivers alerts from the topic to chat webhooks',
      entry: props.notifyEntry,
      bundleRoot: props.bundleRoot,
      logRetentionDays: config.retention.logDays,
      environment: {
        WEBHOOK_PARAMETER_NAMES: config.webhookParameterNames.join(','),
        POWERTOOLS_SERVICE_NAME: 'notify',
      },
      // The handler parks deliveries that keep failing in its own dead-letter queue.
      deadLetterQueueUrlVariable: 'NOTIFY_DLQ_URL',
      statements:
        parameterArns.length === 0
          ? []
          : [
              { Sid: 'ReadWebhookParameters', Action: ['ssm:GetParameters'], Resource: parameterArns },
              {
                Sid: 'DecryptWebhookParameters',
                Action: ['kms:Decrypt'],
                Resource: [key.arn],
                Condition: { StringEquals: { 'kms:ViaService': `ssm.${context.region}.amazonaws.com` } },
              },
            ],
    });
    new SnsTopicSubscription(this, 'notifySubscription', {
      topicArn: this.topic.arn,
      protocol: 'lambda',
      endpoint: this.notifyFunction.arn,
    });
    new LambdaPermission(this, 'notifyInvokePermission', {
      statementId: 'AlertTopicInvokes',
      action: 'lambda:InvokeFunction',
      functionName: this.notifyFunction.name,
      principal: 'sns.amazonaws.com',
      sourceArn: this.topic.arn,
    });

    if (config.alertEmail) {
      new SnsTopicSubscription(this, 'emailSubscription', {
        topicArn: this.topic.arn,
        protocol: 'email',
        endpoint: config.alertEmail,
      });
    }

    this.auditQueue = new SqsQueue(this, 'auditQueue', {
      name: `${config.namePrefix}-alerts-audit`,
      messageRetentionSeconds: 14 * 24 * 3600,
      sqsManagedSseEnabled: true,
    });
    new SqsQueuePolicy(this, 'auditQueuePolicy', {
      queueUrl: this.auditQueue.url,
      policy: policyDocument([
        {
          Sid: 'AlertTopicDelivers',
          Principal: { Service: 'sns.amazonaws.com' },
          Action: ['sqs:SendMessage'],
          Resource: this.auditQueue.arn,
          Condition: { ArnEquals: { 'aws:SourceArn': this.topic.arn } },
        },
        denyInsecureTransport(['sqs:SendMessage', 'sqs:ReceiveMessage'], [this.auditQueue.arn]),
      ]),
    });
    new SnsTopicSubscription(this, 'auditSubscription', {
      topicArn: this.topic.arn,
      protocol: 'sqs',
      endpoint: this.auditQueue.arn,
      rawMessageDelivery: true,
    });
  }
}

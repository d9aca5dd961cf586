/**
 * An error as a Step Functions Task reports it: `name` is the `Error` a Retry or Catch matches
 * (`DynamoDB.ConditionalCheckFailedException`, `Sqs.ReceiptHandleIsInvalidException`, ...), `message`
 * the `Cause`. aws-local-stepfunctions matches Retry and Catch on `name`.
 */
export class TaskError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

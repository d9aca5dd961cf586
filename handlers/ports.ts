/**
 * Ports the handlers work through. No AWS and no DuckDB here: adapters live beside the handlers
 * (Athena, SNS) and in local/ (DuckDB, outbox).
 */

/** A query parameter. Strings are bound as strings; the SQL casts them where it needs another type. */
export type QueryValue = string | number | null;

/** A result row: column name -> value; timestamps come back as text, `YYYY-MM-DD HH:MM:SS[.fff]`. */
export type QueryRow = Record<string, QueryValue>;

export interface QueryEngine {
  /** Runs one statement of `sql/` with its `?` placeholders bound in order. */
  query(sql: string, parameters?: readonly QueryValue[]): Promise<QueryRow[]>;
}

export interface Notification {
  readonly subject: string;
  readonly message: string;
  /** Message attributes, for subscription filter policies. */
  readonly attributes: Readonly<Record<string, string>>;
}

export interface Publisher {
  publish(notification: Notification): Promise<void>;
}

/** What was last sent about a window, so a gap alerts once and its repair resolves once. */
export interface AlertState {
  /** The window's identity: zone and bounds (see `windowKey`). */
  readonly windowKey: string;
  /** open: an alert is outstanding; resolved: the window was reported complete after an alert. */
  readonly status: 'open' | 'resolved';
  /** The missing set last alerted; empty when resolved. */
  readonly fingerprint: string;
  /** ISO 8601, UTC. */
  readonly updatedAt: string;
}

export interface AlertStateStore {
  get(windowKey: string): Promise<AlertState | undefined>;
  put(state: AlertState): Promise<void>;
}

/** Structured log lines; the Powertools Logger fits, and so does a silent stand-in. */
export interface Log {
  info(message: string, ...attributes: Record<string, unknown>[]): void;
  warn(message: string, ...attributes: Record<string, unknown>[]): void;
  error(message: string, ...attributes: Record<string, unknown>[]): void;
}

/** Where notify delivers: a Slack-compatible incoming webhook or a generic JSON webhook. */
export interface WebhookTarget {
  /** Safe to log (the SSM parameter name); the URL is a secret and never logged. */
  readonly name: string;
  readonly format: 'slack' | 'json';
  readonly url: string;
}

/** What could not be delivered for good, kept for a person to look at and replay. */
export interface DeadLetterQueue {
  send(body: string): Promise<void>;
}

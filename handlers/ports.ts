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

import { DuckDBInstance } from '@duckdb/node-api';
import { parseOperatingSchedule } from '../handlers/coverage-check/schedule';
import { assertTimeZone } from '../handlers/coverage-check/wall-clock';
import { webhookUrlProblem } from '../handlers/notify/deliver';

/** A setting that cannot be used; its message names the variable and what is wrong. */
export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

const WEBHOOK_FORMATS = ['slack', 'json'];

async function memoryLimitProblem(limit: string): Promise<string | undefined> {
  // DuckDB is the judge of its own setting: the same value opens an empty in-memory database.
  try {
    const instance = await DuckDBInstance.create(':memory:', { memory_limit: limit });
    instance.closeSync();
    return undefined;
  } catch (error) {
    return (error as Error).message.split('\n')[0];
  }
}

/**
 * Checks every AGENT_ETL_* setting a command may use, before it does any work, so that a mistyped
 * value fails at once with one line instead of after the files are loaded.
 */
export async function validateSettings(env: NodeJS.ProcessEnv): Promise<void> {
  const fail = (name: string, problem: string): never => {
    throw new SettingsError(`${name}: ${problem}`);
  };
  if (env.AGENT_ETL_TIMEZONE !== undefined) {
    try {
      assertTimeZone(env.AGENT_ETL_TIMEZONE);
    } catch (error) {
      fail('AGENT_ETL_TIMEZONE', (error as Error).message);
    }
  }
  try {
    parseOperatingSchedule(env.AGENT_ETL_OPERATING_SCHEDULE);
  } catch (error) {
    fail('AGENT_ETL_OPERATING_SCHEDULE', (error as Error).message);
  }
  const url = env.AGENT_ETL_WEBHOOK_URL;
  const urlProblem = url ? webhookUrlProblem(url) : undefined;
  if (urlProblem)
    fail('AGENT_ETL_WEBHOOK_URL', `${urlProblem} (the value is not shown: it may hold a secret)`);
  const format = env.AGENT_ETL_WEBHOOK_FORMAT;
  if (format !== undefined && format !== '' && !WEBHOOK_FORMATS.includes(format))
    fail('AGENT_ETL_WEBHOOK_FORMAT', `'${format}' is not one of ${WEBHOOK_FORMATS.join(', ')}`);
  const limit = env.AGENT_ETL_MEMORY_LIMIT;
  if (limit !== undefined) {
    const problem = await memoryLimitProblem(limit);
    if (problem)
      fail('AGENT_ETL_MEMORY_LIMIT', `'${limit}' is not a DuckDB memory limit such as 1GB (${problem})`);
  }
}

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AlertState, AlertStateStore } from '../../handlers/ports';

export function alertStateFile(lake: string): string {
  return join(lake, 'alert-state.json');
}

/** The DynamoDB table's local stand-in: one JSON object, window key -> state, replaced atomically. */
export class FileAlertStateStore implements AlertStateStore {
  constructor(private readonly file: string) {}

  private read(): Record<string, AlertState> {
    if (!existsSync(this.file)) return {};
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch (error) {
      throw new Error(
        `${this.file} is not valid JSON (${(error as Error).message}); repair it, or delete it to forget which alerts were sent`,
      );
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new Error(
        `${this.file} does not hold a JSON object of alert states; repair it, or delete it to forget which alerts were sent`,
      );
    return value as Record<string, AlertState>;
  }

  async get(windowKey: string): Promise<AlertState | undefined> {
    return this.read()[windowKey];
  }

  async put(state: AlertState): Promise<void> {
    const all = { ...this.read(), [state.windowKey]: state };
    mkdirSync(dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(all, null, 2)}\n`, 'utf8');
    renameSync(temporary, this.file);
  }
}

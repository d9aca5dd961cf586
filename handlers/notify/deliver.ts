import type { DeadLetterQueue, Log, WebhookTarget } from '../ports';
import { type AlertMessage, payloadFor } from './format';

export interface RetryPolicy {
  /** Tries per target, the first included. */
  readonly attempts: number;
  /** Wait before the second try; doubles for each try after. */
  readonly firstDelayMs: number;
  /** One try is abandoned (and counts as a timeout) when no response status has come after this long. */
  readonly timeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, firstDelayMs: 500, timeoutMs: 5_000 };

export interface NotifyDependencies {
  readonly targets: readonly WebhookTarget[];
  readonly deadLetters: DeadLetterQueue;
  readonly log: Log;
  readonly retry?: RetryPolicy;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface DeliveryReport {
  readonly target: string;
  readonly delivered: boolean;
  readonly attempts: number;
  /** Why the last try failed, when it did: `HTTP 503`, `timeout`, a network error. */
  readonly failure?: string;
}

type Attempt = { ok: true } | { ok: false; retryable: boolean; failure: string };

/** Why a webhook URL cannot be posted to (a configuration error, never retried), or undefined when it can. */
export function webhookUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not a valid URL';
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    return `not an http(s) URL (scheme ${parsed.protocol})`;
  // fetch refuses such a URL with an error that quotes it, password included; and credentials in a
  // URL end up in logs and dead letters. The service's own URL (a token in its path) is what to use.
  if (parsed.username !== '' || parsed.password !== '')
    return 'it holds a user name or password (user:pass@); give the URL without credentials';
  return undefined;
}

/**
 * One POST. The status decides: 2xx is delivered as soon as it arrives (the body is not waited for, so a
 * slow body is not a timeout and is never posted twice). Redirects are not followed, since following
 * one would send the alert somewhere not configured. 5xx, 429 (rate limited: come back later),
 * timeouts and network errors are worth another try; other statuses are not.
 */
async function post(url: string, body: string, timeoutMs: number): Promise<Attempt> {
  const problem = webhookUrlProblem(url);
  if (problem) return { ok: false, retryable: false, failure: `invalid webhook URL: ${problem}` };
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new DOMException('timed out', 'TimeoutError')), timeoutMs);
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      redirect: 'manual',
      signal: abort.signal,
    });
    clearTimeout(timer);
    await response.body?.cancel().catch(() => undefined);
    if (response.ok) return { ok: true };
    if (response.status >= 300 && response.status < 400)
      return { ok: false, retryable: false, failure: `HTTP ${response.status} (redirect not followed)` };
    const retryable = response.status >= 500 || response.status === 429;
    return { ok: false, retryable, failure: `HTTP ${response.status}` };
  } catch (error) {
    const name = (error as Error).name;
    const failure =
      name === 'TimeoutError' || name === 'AbortError'
        ? 'timeout'
        : `network error: ${(error as Error).message}`;
    return { ok: false, retryable: true, failure };
  } finally {
    clearTimeout(timer);
  }
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function deliverTo(
  target: WebhookTarget,
  alert: AlertMessage,
  deps: NotifyDependencies,
): Promise<DeliveryReport> {
  const retry = deps.retry ?? DEFAULT_RETRY;
  const sleep = deps.sleep ?? defaultSleep;
  const body = JSON.stringify(payloadFor(target.format, alert));
  let last: Attempt = { ok: false, retryable: true, failure: 'not tried' };
  let attempts = 0;
  while (attempts < retry.attempts) {
    if (attempts > 0) await sleep(retry.firstDelayMs * 2 ** (attempts - 1));
    attempts += 1;
    last = await post(target.url, body, retry.timeoutMs);
    if (last.ok) return { target: target.name, delivered: true, attempts };
    deps.log.warn('webhook delivery failed', {
      target: target.name,
      attempt: attempts,
      failure: last.failure,
    });
    if (!last.retryable) break;
  }
  const failure = last.ok ? 'unknown' : last.failure;
  // The URL is a secret: the dead letter names the parameter, never the address.
  await deps.deadLetters.send(
    JSON.stringify({ target: target.name, format: target.format, failure, attempts, alert }),
  );
  deps.log.error('webhook delivery given up, alert sent to the dead-letter queue', {
    target: target.name,
    attempts,
    failure,
  });
  return { target: target.name, delivered: false, attempts, failure };
}

/** Delivers one alert to every target, each independently; what fails for good goes to the dead-letter queue. */
export async function deliverAlert(alert: AlertMessage, deps: NotifyDependencies): Promise<DeliveryReport[]> {
  return Promise.all(deps.targets.map((target) => deliverTo(target, alert, deps)));
}

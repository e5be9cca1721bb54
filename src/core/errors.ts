/**
 * Error hierarchy. Every error has a stable `code`; only {@link UserFacingError}
 * carries text meant for a chat user. Surfaces render errors with
 * {@link userMessageFor}, which never leaks internals.
 */
export class SeedanceError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An error whose message is safe and useful to show to the person who asked. */
export class UserFacingError extends SeedanceError {
  /** Extra lines (e.g. one per validation problem). */
  readonly details: readonly string[];
  constructor(code: string, message: string, details: readonly string[] = [], options?: { cause?: unknown }) {
    super(code, message, options);
    this.details = details;
  }
}

/** The request was invalid; nothing was submitted. */
export class ValidationError extends UserFacingError {
  constructor(problems: readonly string[]) {
    super('invalid_request', problems.length === 1 ? problems[0]! : 'That request has problems:', problems.length === 1 ? [] : problems);
  }
}

/** A failure talking to a video provider. */
export class ProviderError extends SeedanceError {
  readonly provider: string;
  /** HTTP status, or 0 for network-level failures. */
  readonly status: number;
  readonly body: unknown;
  /** Whether the same request may be retried (408, 409, 429, 5xx, network). */
  readonly retryable: boolean;
  /**
   * For a submit: whether the provider certainly did not create a job.
   * Only then may a submit be retried without risking a second paid job.
   */
  readonly notCreated: boolean;
  constructor(
    code: string,
    message: string,
    init: { provider: string; status: number; body?: unknown; retryable?: boolean; notCreated?: boolean; cause?: unknown },
  ) {
    super(code, message, { cause: init.cause });
    this.provider = init.provider;
    this.status = init.status;
    this.body = init.body;
    this.retryable = init.retryable ?? isRetryableStatus(init.status);
    this.notCreated = init.notCreated ?? false;
  }
}

/** 429: carries how long to wait. */
export class RateLimitError extends ProviderError {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, init: { provider: string; status: number; body?: unknown; retryAfterMs?: number }) {
    super('rate_limited', message, { ...init, retryable: true, notCreated: true });
    this.retryAfterMs = init.retryAfterMs;
  }
}

/** Configuration is wrong; lists every problem at once. */
export class ConfigError extends SeedanceError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super('config_invalid', `Configuration is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
  }
}

export function isRetryableStatus(status: number): boolean {
  return status === 0 || status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * Provider labels (`aimlapi` → `AIML API`). The core never imports a provider: each
 * provider plugin registers its label at start (src/providers/registry.ts).
 */
const providerLabels = new Map<string, string>();

/** Records what users call a provider; the provider registry calls this for every plugin. */
export function registerProviderLabel(name: string, label: string): void {
  providerLabels.set(name, label);
}

/** What users call a provider: its registered label, else its name. */
export function providerLabel(name: string): string {
  return providerLabels.get(name) ?? name;
}

/** The one place that turns any error into text a chat user may see. */
export function userMessageFor(err: unknown): string {
  if (err instanceof UserFacingError) {
    return [err.message, ...err.details.map((d) => `• ${d}`)].join('\n');
  }
  if (err instanceof ProviderError) {
    const name = providerLabel(err.provider);
    switch (err.code) {
      case 'bad_key':
        return `The bot's ${name} key was rejected. Ask the bot's operator to check it.`;
      case 'out_of_credits':
        return `The bot's ${name} account is out of credits. Ask the bot's operator to top it up.`;
      case 'rate_limited':
        return `${name} is rate-limiting us right now. Try again in a minute.`;
      case 'provider_rejected':
        return `${name} rejected the request: ${err.message}`;
      default:
        return `${name} had a problem (${err.status || 'network'}). Try again later.`;
    }
  }
  return 'Something went wrong on our side. The error has been logged.';
}

/** Fetching a finished video failed. */
export class DownloadError extends SeedanceError {
  readonly status: number;
  readonly retryable: boolean;
  constructor(message: string, init: { status: number; retryable?: boolean; cause?: unknown }) {
    super('download_failed', message, { cause: init.cause });
    this.status = init.status;
    this.retryable = init.retryable ?? isRetryableStatus(init.status);
  }
}

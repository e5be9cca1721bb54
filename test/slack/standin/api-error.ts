// A Slack Web API failure ({ok:false, error, ...extra}, HTTP 200) thrown by method handlers.

export class SlackApiError extends Error {
  constructor(
    readonly error: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(error);
  }

  get body(): Record<string, unknown> {
    return { ok: false, error: this.error, ...this.extra };
  }
}

/** `invalid_arguments` with Slack's `response_metadata.messages` explanation. */
export function invalidArguments(...messages: string[]): SlackApiError {
  return new SlackApiError('invalid_arguments', { response_metadata: { messages: messages.map((m) => `[ERROR] ${m}`) } });
}

export type Args = Record<string, unknown>;

export function str(args: Args, key: string): string | undefined {
  const v = args[key];
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

export function requireStr(args: Args, key: string, error = 'invalid_arguments'): string {
  const v = str(args, key);
  if (v === undefined || v === '') {
    throw error === 'invalid_arguments' ? invalidArguments(`missing required field: ${key}`) : new SlackApiError(error);
  }
  return v;
}

export const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

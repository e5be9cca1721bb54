// Discord's JSON error bodies ({code, message, errors?}) as throwable values.

/** Thrown by a route handler; the server turns it into a JSON error response. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly errors?: unknown,
  ) {
    super(message);
  }

  get body(): { code: number; message: string; errors?: unknown } {
    return this.errors === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, errors: this.errors };
  }
}

type Catalog = Record<string, () => ApiFailure>;

export const fail = {
  unauthorized: () => new ApiFailure(401, 0, '401: Unauthorized'),
  notFound: () => new ApiFailure(404, 0, '404: Not Found'),
  methodNotAllowed: () => new ApiFailure(405, 0, '405: Method Not Allowed'),
  unknownChannel: () => new ApiFailure(404, 10003, 'Unknown Channel'),
  unknownGuild: () => new ApiFailure(404, 10004, 'Unknown Guild'),
  unknownMember: () => new ApiFailure(404, 10007, 'Unknown Member'),
  unknownMessage: () => new ApiFailure(404, 10008, 'Unknown Message'),
  unknownUser: () => new ApiFailure(404, 10013, 'Unknown User'),
  unknownWebhook: () => new ApiFailure(404, 10015, 'Unknown Webhook'),
  unknownInteraction: () => new ApiFailure(404, 10062, 'Unknown interaction'),
  tooLarge: () => new ApiFailure(413, 40005, 'Request entity too large'),
  alreadyAcknowledged: () => new ApiFailure(400, 40060, 'Interaction has already been acknowledged.'),
  cannotEditOthers: () => new ApiFailure(403, 50005, 'Cannot edit a message authored by another user'),
  missingAccess: () => new ApiFailure(403, 50001, 'Missing Access'),
  invalidWebhookToken: () => new ApiFailure(401, 50027, 'Invalid Webhook Token'),
  invalidChannelType: () => new ApiFailure(400, 50024, 'Cannot execute action on this channel type'),
  emptyMessage: () => new ApiFailure(400, 50006, 'Cannot send an empty message'),
  threadExists: () => new ApiFailure(400, 160004, 'A thread has already been created for this message'),
} satisfies Catalog;

/** One field error in Discord's nested `errors` format. */
export interface FieldError {
  /** Dotted path, numeric parts for array indexes: 'embeds.0.title'; '' for the body itself. */
  path: string;
  code: string;
  message: string;
}

/** 400 50035 'Invalid Form Body' with Discord's nested `{field: {_errors: [...]}}` tree. */
export function invalidForm(problems: FieldError[]): ApiFailure {
  const errors: Record<string, unknown> = {};
  for (const p of problems) {
    let node = errors;
    for (const part of p.path.split('.').filter((x) => x !== '' && x !== '_errors')) {
      node[part] ??= {};
      node = node[part] as Record<string, unknown>;
    }
    const list = (node._errors ??= []) as unknown[];
    list.push({ code: p.code, message: p.message });
  }
  return new ApiFailure(400, 50035, 'Invalid Form Body', errors);
}

/** Default body for an injected fault status. */
export function defaultFaultBody(status: number): unknown {
  if (status === 413) return fail.tooLarge().body;
  if (status === 429) return { message: 'You are being rate limited.', retry_after: 0.05, global: false };
  const words: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable' };
  return { code: 0, message: `${status}: ${words[status] ?? 'Error'}` };
}

// Reading and decoding Web API request bodies: JSON, form-encoded (JSON-string fields decoded) or multipart.
import type { IncomingMessage } from 'node:http';

const MAX_BODY_BYTES = 1100 * 1024 * 1024;
/** Fields Slack takes as JSON strings when a call is form-encoded. */
const JSON_FIELDS = new Set(['blocks', 'attachments', 'files', 'view', 'metadata', 'unfurls', 'user_auth_blocks', 'channels_list']);

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function decodeField(key: string, value: string): unknown {
  if (!JSON_FIELDS.has(key)) return value;
  const t = value.trim();
  if (!t.startsWith('[') && !t.startsWith('{')) return value;
  try {
    return JSON.parse(t) as unknown;
  } catch {
    return value;
  }
}

export interface ParsedArgs {
  args: Record<string, unknown>;
  /** How the token may be given: JSON bodies only take the Authorization header. */
  tokenField?: string;
  kind: 'json' | 'form' | 'multipart' | 'none';
  /** Set when the body could not be parsed. */
  invalid?: string;
}

export async function parseArgs(raw: Buffer, contentType: string | undefined, query: URLSearchParams): Promise<ParsedArgs> {
  const args: Record<string, unknown> = {};
  for (const [k, v] of query) args[k] = decodeField(k, v);
  const ct = (contentType ?? '').toLowerCase();
  if (raw.length === 0) return finish(args, 'none');
  if (ct.startsWith('application/json')) {
    try {
      const body = JSON.parse(raw.toString('utf8')) as unknown;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) return { args, kind: 'json', invalid: 'invalid_json' };
      const parsed: Record<string, unknown> = { ...args, ...(body as Record<string, unknown>) };
      const tokenField = typeof query.get('token') === 'string' ? (query.get('token') as string) : undefined;
      delete parsed.token;
      return { args: parsed, tokenField, kind: 'json' };
    } catch {
      return { args, kind: 'json', invalid: 'invalid_json' };
    }
  }
  if (ct.startsWith('multipart/form-data')) {
    const form = await new Response(raw, { headers: { 'content-type': contentType as string } }).formData();
    for (const [k, v] of form.entries()) {
      args[k] = typeof v === 'string' ? decodeField(k, v) : { filename: (v as File).name, size: (v as File).size, data: Buffer.from(await (v as File).arrayBuffer()) };
    }
    return finish(args, 'multipart');
  }
  for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) args[k] = decodeField(k, v);
  return finish(args, 'form');
}

function finish(args: Record<string, unknown>, kind: ParsedArgs['kind']): ParsedArgs {
  const tokenField = typeof args.token === 'string' ? args.token : undefined;
  delete args.token;
  return { args, tokenField, kind };
}

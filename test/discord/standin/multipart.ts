// Request bodies: JSON, or multipart/form-data with payload_json + files[n] (parsed by undici's FormData).
import { ApiFailure } from './errors.js';

export interface UploadedFile {
  /** Form field name, e.g. 'files[0]'. */
  field: string;
  filename: string;
  contentType?: string;
  data: Buffer;
}

export interface ParsedBody {
  /** The JSON payload (the body, or payload_json), undefined when absent. */
  json: unknown;
  files: UploadedFile[];
  /** What RecordedCall.body shows. */
  recorded: unknown;
}

const invalidJson = (): ApiFailure => new ApiFailure(400, 50109, 'The request body contains invalid JSON.');

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalidJson();
  }
}

export async function parseRequestBody(raw: Buffer, contentType: string | undefined): Promise<ParsedBody> {
  if (raw.length === 0) return { json: undefined, files: [], recorded: undefined };
  if (/^multipart\/form-data/i.test(contentType ?? '')) return parseMultipart(raw, contentType ?? '');
  const text = raw.toString('utf8');
  const json = parseJson(text);
  return { json, files: [], recorded: json };
}

async function parseMultipart(raw: Buffer, contentType: string): Promise<ParsedBody> {
  let form: FormData;
  try {
    form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
  } catch {
    throw new ApiFailure(400, 50035, 'Invalid Form Body');
  }
  let json: Record<string, unknown> | undefined;
  const plain: Record<string, unknown> = {};
  const files: UploadedFile[] = [];
  for (const [field, value] of form.entries()) {
    if (typeof value === 'string') {
      if (field === 'payload_json') json = parseJson(value) as Record<string, unknown>;
      else plain[field] = value;
      continue;
    }
    files.push({
      field,
      filename: value.name,
      contentType: value.type === '' ? undefined : value.type,
      data: Buffer.from(await value.arrayBuffer()),
    });
  }
  const payload = json ?? (Object.keys(plain).length > 0 ? plain : undefined);
  return {
    json: payload,
    files,
    recorded: { payload_json: payload, files: files.map((f) => ({ field: f.field, name: f.filename, size: f.data.length, contentType: f.contentType })) },
  };
}

/** Index n of a 'files[n]' (or 'file[n]'/'filesN') field, matching attachments[].id; -1 when there is none. */
export function fileIndex(field: string): number {
  const m = /(\d+)\]?$/.exec(field);
  return m ? Number(m[1]) : -1;
}

// files.* Web API methods, the upload_url endpoint and private file downloads (files-pri).
import { SlackApiError, invalidArguments, isObj, requireStr, str } from './api-error.js';
import type { Handler } from './api-chat.js';
import { validateBlocks } from './api-chat.js';
import { mimeFor } from './state.js';
import type { SlackWorld } from './state.js';
import type { StandinFile } from './types.js';

const MAX_UPLOAD = 1024 * 1024 * 1024;

export interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: Buffer | string;
}

export const filesMethods: Record<string, Handler> = {
  'files.getUploadURLExternal': (args, world) => {
    const filename = requireStr(args, 'filename');
    const lengthRaw = str(args, 'length');
    if (lengthRaw === undefined) throw invalidArguments('missing required field: length');
    const length = Number(lengthRaw);
    if (!Number.isInteger(length) || length < 0 || length > MAX_UPLOAD) throw new SlackApiError('invalid_length');
    const id = world.newId('F');
    world.pendingUploads.set(id, { id, filename, length, altText: str(args, 'alt_text') });
    return { upload_url: `${world.url}/upload/${id}`, file_id: id };
  },

  'files.completeUploadExternal': (args, world) => {
    const list = args.files;
    if (!Array.isArray(list) || list.length === 0) throw invalidArguments('missing required field: files');
    const channelArg = str(args, 'channel_id') ?? str(args, 'channels');
    const channel = channelArg === undefined || channelArg === '' ? undefined : world.postable(channelArg);
    const threadTs = str(args, 'thread_ts') || undefined;
    if (threadTs !== undefined && channel === undefined) throw invalidArguments('thread_ts requires channel_id');
    const blocks = validateBlocks(args.blocks);
    const uploads = list.map((entry) => {
      const id = isObj(entry) ? str(entry, 'id') : undefined;
      const pending = id === undefined ? undefined : world.pendingUploads.get(id);
      if (pending === undefined || pending.data === undefined) throw new SlackApiError('file_not_found');
      return { pending, title: isObj(entry) ? str(entry, 'title') : undefined };
    });
    const now = Math.floor(Date.now() / 1000);
    const stored: StandinFile[] = uploads.map(({ pending, title }) => {
      world.pendingUploads.delete(pending.id);
      const f: StandinFile = {
        id: pending.id,
        name: pending.filename,
        title: title ?? pending.filename,
        size: pending.length,
        mimetype: mimeFor(pending.filename),
        data: pending.data as Buffer,
        channels: channel === undefined ? [] : [channel.id],
        threadTs,
        uploadedVia: 'external',
        user: world.botUserId,
        created: now,
      };
      world.files.set(f.id, f);
      return f;
    });
    if (channel !== undefined) {
      world.addMessage({
        channel: channel.id,
        threadTs,
        user: world.botUserId,
        botId: world.botId,
        text: str(args, 'initial_comment') ?? '',
        blocks,
        files: stored.map((f) => ({ id: f.id, name: f.name, title: f.title, size: f.size, mimetype: f.mimetype, data: f.data })),
      });
    }
    return { files: stored.map((f) => world.fileObject(f)) };
  },

  // A bot deletes its own uploads (a workspace admin's user token could delete any; the stand-in has none): the file
  // is gone and so is the message that shared it.
  'files.delete': (args, world) => {
    const id = requireStr(args, 'file', 'file_not_found');
    if (world.userFiles.has(id)) throw new SlackApiError('cant_delete_file');
    if (!world.files.delete(id)) throw new SlackApiError('file_not_found');
    for (const m of world.messages) if (m.files.some((f) => f.id === id)) m.deleted = true;
    return {};
  },

  'files.info': (args, world) => {
    const f = world.file(str(args, 'file') ?? '');
    if (f === undefined) throw new SlackApiError('file_not_found');
    return { file: world.fileObject(f), comments: [], response_metadata: { next_cursor: '' } };
  },
};

/** POST /upload/<fileId>: raw bytes, or multipart (the web-api sends one part named `body`, filename 'Untitled'). */
export async function handleUpload(world: SlackWorld, fileId: string, raw: Buffer, contentType: string | undefined): Promise<{ reply: RawReply; args: Record<string, unknown> }> {
  const pending = world.pendingUploads.get(fileId);
  const text = (status: number, body: string): RawReply => ({ status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body });
  const args: Record<string, unknown> = { file_id: fileId, contentType };
  if (pending === undefined) return { reply: text(404, 'Not Found'), args };
  let data = raw;
  if (contentType?.toLowerCase().startsWith('multipart/form-data') === true) {
    const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
    const parts = [...form.entries()];
    const filePart = parts.find(([, v]) => typeof v !== 'string');
    if (filePart === undefined) return { reply: text(400, 'Bad Request - no file part'), args: { ...args, fields: parts.map(([k]) => k) } };
    const blob = filePart[1] as File;
    data = Buffer.from(await blob.arrayBuffer());
    args.field = filePart[0];
    args.filename = blob.name;
  }
  args.size = data.length;
  if (data.length !== pending.length) return { reply: text(400, `Bad Request - length ${data.length} does not match declared ${pending.length}`), args };
  pending.data = data;
  return { reply: text(200, `OK - ${data.length}`), args };
}

const SIGN_IN_PAGE =
  '<!DOCTYPE html><html lang="en-US"><head><meta charset="utf-8"><title>Slack</title></head>' +
  '<body><h1>Sign in to Stand-in Workspace</h1><form action="/signin" method="post"><input type="email" name="email">' +
  '<button type="submit">Sign in with Email</button></form></body></html>';

/** GET /files-pri/<team>-<id>/[download/]<name>: bytes with a valid bot token and files:read, else the sign-in page (HTTP 200). */
export function handleFileGet(world: SlackWorld, path: string, auth: string | undefined): { reply: RawReply; args: Record<string, unknown> } {
  const m = /^\/files-pri\/([A-Z0-9]+)-([A-Z0-9]+)\/(.+)$/.exec(path);
  const file = m === null || m[1] !== world.teamId ? undefined : world.file(m[2] as string);
  const authorized = auth === `Bearer ${world.botToken}`;
  const scoped = world.scopes.has('files:read');
  const args = { file_id: m?.[2], authorized, files_read: scoped };
  if (!authorized || !scoped) {
    return { reply: { status: 200, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'private, no-cache' }, body: SIGN_IN_PAGE }, args };
  }
  if (file === undefined) return { reply: { status: 404, headers: { 'content-type': 'text/plain' }, body: 'File not found' }, args };
  const download = m?.[3]?.startsWith('download/') === true;
  const headers: Record<string, string> = { 'content-type': file.mimetype, 'content-length': String(file.data.length) };
  if (download) headers['content-disposition'] = `attachment; filename="${file.name}"`;
  return { reply: { status: 200, headers, body: file.data }, args };
}

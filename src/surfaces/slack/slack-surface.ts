/**
 * Slack as a ChatSurface over the Web API: chat.postMessage / chat.update for
 * progress (sparse: Tier 3 allows ~50 updates a minute per workspace) and
 * files.uploadV2 into the job's thread for the video.
 */
import type { webApi } from '@slack/bolt';

type WebClient = webApi.WebClient;
type FilesUploadV2Arguments = webApi.FilesUploadV2Arguments;
import type Keyv from 'keyv';
import type { ChatSurface, SurfaceMessage } from '../../core/ports.js';
import { SurfaceGoneError } from '../../core/ports.js';
import { renderSlack, videoCaption } from './slack-format.js';
import { SLACK, parseSlackRef, slackDmRef, slackRef } from './slack-refs.js';

/** Errors that mean the message or conversation is gone or out of reach. */
const GONE = new Set(['message_not_found', 'channel_not_found', 'is_archived', 'not_in_channel', 'thread_not_found', 'cant_update_message', 'user_not_found', 'cannot_dm_bot']);
const SLACK_FILE_LIMIT = 1024 * 1024 * 1024;

function slackError(err: unknown): string | undefined {
  return (err as { data?: { error?: string } })?.data?.error;
}

function mapError(err: unknown): unknown {
  const code = slackError(err);
  return code && GONE.has(code) ? new SurfaceGoneError(code, { cause: err }) : err;
}

export const threadJobKey = (channel: string, ts: string) => `slack:threadjob:${channel}:${ts}`;
export const jobFileKey = (jobId: string) => `slack:jobfile:${jobId}`;
const uploadingKey = (jobId: string) => `slack:uploading:${jobId}`;

export function createSlackSurface(o: { client: WebClient; kv: Keyv; progressIntervalMs: number; allowDms?: boolean }): ChatSurface {
  async function where(conversation: string): Promise<{ team: string; channel: string; thread?: string }> {
    const ref = parseSlackRef(conversation);
    if (ref.dmUser) {
      const opened = await o.client.conversations.open({ users: ref.dmUser });
      return { team: ref.team, channel: opened.channel!.id! };
    }
    return { team: ref.team, channel: ref.channel!, ...(ref.ts ? { thread: ref.ts } : {}) };
  }

  const remember = async (channel: string, thread: string | undefined, jobId: string) => {
    if (thread) await o.kv.set(threadJobKey(channel, thread), jobId, 90 * 86_400_000);
  };

  async function post(conversation: string, message: SurfaceMessage): Promise<string> {
    try {
      const { team, channel, thread } = await where(conversation);
      const res = await o.client.chat.postMessage({ channel, ...(thread ? { thread_ts: thread } : {}), ...renderSlack(message) });
      if (message.kind !== 'progress') await remember(channel, thread, message.job.id);
      return slackRef(team, channel, res.ts);
    } catch (err) {
      throw mapError(err);
    }
  }

  /** Our earlier upload in a thread, found by its title. */
  async function findUpload(channel: string, thread: string | undefined, title: string): Promise<string | undefined> {
    if (!thread) return undefined;
    try {
      const replies = await o.client.conversations.replies({ channel, ts: thread, limit: 200 });
      for (const m of replies.messages ?? []) for (const f of m.files ?? []) if (f.title === title && f.id) return f.id;
    } catch {
      // Without history access we can't tell; uploading again is the lesser evil than losing the video.
    }
    return undefined;
  }

  return {
    kind: SLACK,
    progressIntervalMs: o.progressIntervalMs,
    maxEditsPerSecond: 0.8,
    post,
    async edit(ref, message) {
      const { channel, ts } = parseSlackRef(ref);
      try {
        await o.client.chat.update({ channel: channel!, ts: ts!, ...renderSlack(message) });
      } catch (err) {
        throw mapError(err);
      }
    },
    async maxUploadBytes() {
      return SLACK_FILE_LIMIT;
    },
    async upload(conversation, file, message, { idempotencyKey }) {
      if (message.kind !== 'video') throw new Error('Slack uploads carry a video caption');
      try {
        const { team, channel, thread } = await where(conversation);
        // Exactly once across a crash: mark before uploading; a retry that finds the mark looks for
        // the file in the thread (by the job tag in its title) before uploading again.
        const title = `${file.name} · ${idempotencyKey.slice(0, 8)}`;
        let fileId = await o.kv.get<string>(jobFileKey(idempotencyKey));
        if (!fileId && (await o.kv.get(uploadingKey(idempotencyKey)))) fileId = await findUpload(channel, thread, title);
        if (!fileId) {
          await o.kv.set(uploadingKey(idempotencyKey), true, 7 * 86_400_000);
          const args = {
            channel_id: channel,
            ...(thread ? { thread_ts: thread } : {}),
            file: file.path,
            filename: file.name,
            title,
            initial_comment: videoCaption(message),
          } as FilesUploadV2Arguments;
          const up = (await o.client.files.uploadV2(args)) as { files?: { files?: { id?: string }[] }[] };
          fileId = up.files?.[0]?.files?.[0]?.id ?? 'unknown';
        }
        await o.kv.set(jobFileKey(idempotencyKey), fileId, 90 * 86_400_000);
        // The buttons go in a message of their own: file shares can't carry actions.
        const res = await o.client.chat.postMessage({ channel, ...(thread ? { thread_ts: thread } : {}), ...renderSlack(message) });
        await remember(channel, thread, message.job.id);
        return slackRef(team, channel, res.ts);
      } catch (err) {
        throw mapError(err);
      }
    },
    async fallbackConversation(requesterId, conversation) {
      if (o.allowDms === false || conversation.includes(':dm:')) return undefined;
      return slackDmRef(parseSlackRef(conversation).team, requesterId);
    },
  };
}

/**
 * Slack's side of starting a video: who is asking and where (as the use cases
 * need it), the file download with the bot token once every check has passed
 * on what Slack declares, and the progress message in the thread. Every rule
 * (allowed channels, limits, defaults, validation) is the use cases'.
 */
import type { Dispatcher } from 'undici';
import type { webApi } from '@slack/bolt';
import { UserFacingError, userMessageFor } from '../../core/errors.js';
import type { JobService } from '../../core/job-service.js';
import type { Logger } from '../../core/logger.js';
import type { GenerationInput, ImageInput } from '../../core/request.js';
import type { SlackFile } from './slack-files.js';
import { downloadSlackImage, slackFileFields } from './slack-files.js';
import { quote } from './slack-format.js';
import { SLACK, slackRef } from './slack-refs.js';
import type { Actor, VideoUseCases, Where } from '../../usecases/video-use-cases.js';

export interface SlackStartDeps {
  service: JobService;
  useCases: VideoUseCases;
  /** A workspace admin or owner (users.info). */
  isAdmin(user: string): Promise<boolean>;
  client: webApi.WebClient;
  token: string;
  fileHosts: readonly string[];
  dispatcher: Dispatcher;
  logger: Logger;
  team(): string;
  /** Bounds image downloads across the process. */
  imageDownloads: <T>(fn: () => Promise<T>) => Promise<T>;
}

export interface SlackStart {
  input: Omit<GenerationInput, 'image'> & { image?: GenerationInput['image'] };
  /** The first frame, downloaded once every check has passed. */
  imageFile?: SlackFile;
  /** Reference images (`@Image1`…), downloaded the same way. */
  referenceFiles?: SlackFile[];
  userId: string;
  channel: string;
  /** Post progress in this thread; without it the progress message starts a new thread. */
  thread?: string;
  /** Tells the user (only them) why nothing was started. */
  refuse(text: string): Promise<void>;
}

/** Ephemeral message in a channel (thread), falling back to a DM when the bot can't post there. */
export async function tellPrivately(client: webApi.WebClient, p: { channel: string; user: string; text: string; thread?: string }): Promise<void> {
  try {
    await client.chat.postEphemeral({ channel: p.channel, user: p.user, text: p.text, ...(p.thread ? { thread_ts: p.thread } : {}) });
  } catch {
    await client.chat.postMessage({ channel: p.user, text: p.text }).catch(() => undefined);
  }
}

/** The place key of a workspace (settings and daily limits are kept under it). */
export const teamPlace = (team: string) => ({ key: `${SLACK}:team:${team}`, label: 'this workspace' });

/** Who is asking: workspace admins and owners moderate and administer. */
export function slackActor(userId: string, isAdmin: (user: string) => Promise<boolean>): Actor {
  const admin = () => isAdmin(userId);
  return { surface: SLACK, userId, canModerate: admin, canAdminister: admin, adminRight: 'workspace admin or owner rights' };
}

/** Where: the workspace (its settings apply in DMs too, but its channel list does not). */
export function slackWhere(team: string, channel: string): Where {
  // Conversation ids: C… channels, G… private channels and group DMs, D… direct messages.
  return { place: teamPlace(team), channelId: channel, ...(channel.startsWith('D') ? { dm: true } : {}) };
}

/** Every check on what Slack declares, before anything is downloaded or posted (the modal's inline errors). */
export function preflightSlack(d: SlackStartDeps, s: SlackStart) {
  return d.useCases.preflight({ actor: slackActor(s.userId, d.isAdmin), where: slackWhere(d.team(), s.channel), input: declaredInput(s) });
}

/** Validates with what Slack declares about the file, standing in for the download. */
export function declaredInput(s: SlackStart): GenerationInput {
  const declared = (f: SlackFile): ImageInput => ({
    kind: 'url',
    url: 'https://files.slack.com/declared',
    ...(f.mimetype ? { mime: f.mimetype } : {}),
    ...(f.size ? { bytes: f.size } : {}),
    ...(f.original_w ? { width: f.original_w } : {}),
    ...(f.original_h ? { height: f.original_h } : {}),
  });
  return {
    ...s.input,
    ...(s.imageFile ? { image: declared(s.imageFile) } : {}),
    ...(s.referenceFiles?.length ? { references: s.referenceFiles.map(declared) } : {}),
  };
}

/**
 * A call Slack refused before doing anything (429, 5xx) is tried again, briefly: the first message
 * of a job shouldn't be lost to a one-second rate limit. A broken connection is not retried (the
 * message may have been posted).
 */
async function postRetrying<T>(call: () => Promise<T>, tries = 3): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await call();
    } catch (err) {
      const e = err as { code?: string; statusCode?: number; message?: string };
      // With its own retries off, web-api waits out a 429's Retry-After, then fails with this message.
      const limited = e.code === 'slack_webapi_rate_limited_error' || /rate limit was exceeded/i.test(e.message ?? '');
      const unavailable = e.code === 'slack_webapi_http_error' && (e.statusCode ?? 0) >= 500;
      if (!(limited || unavailable) || n >= tries) throw err;
      if (unavailable) await new Promise((r) => setTimeout(r, 500));
    }
  }
}

export async function startSlackJob(d: SlackStartDeps, s: SlackStart): Promise<string | undefined> {
  const team = d.team();
  let announced = false;
  try {
    const job = await d.useCases.start({
      actor: slackActor(s.userId, d.isAdmin),
      where: slackWhere(team, s.channel),
      input: declaredInput(s),
      conversation: slackRef(team, s.channel, s.thread),
      meta: {
        team,
        ...(s.imageFile ? { slackFile: JSON.stringify(s.imageFile) } : {}),
        // Only the fields used: a re-roll downloads them again.
        ...(s.referenceFiles?.length ? { slackReferenceFiles: JSON.stringify(s.referenceFiles.map((f) => slackFileFields(f as Record<string, unknown>))) } : {}),
      },
      // The files are downloaded (with the bot token) only once every check has passed.
      materialize: async (input) => {
        const download = (f: SlackFile, what: string) => d.imageDownloads(() => downloadSlackImage(f, what, { token: d.token, allowedHosts: d.fileHosts, dispatcher: d.dispatcher }));
        const refs = s.referenceFiles ?? [];
        const [image, references] = await Promise.all([
          s.imageFile ? download(s.imageFile, 'image') : undefined,
          Promise.all(refs.map((f, n) => download(f, `reference image ${n + 1}`))),
        ]);
        return { ...input, ...(image ? { image } : {}), ...(references.length ? { references } : {}) };
      },
      // Posted only once the job is admitted, so a refusal stays private.
      announce: async (job) => {
        const res = await postRetrying(() => d.client.chat.postMessage({ channel: s.channel, ...(s.thread ? { thread_ts: s.thread } : {}), text: `:hourglass_flowing_sand: Starting… ${quote(job.request.prompt)}` }));
        announced = true;
        return { progressMessage: slackRef(team, s.channel, res.ts!), conversation: slackRef(team, s.channel, s.thread ?? res.ts!) };
      },
    });
    return job.id;
  } catch (err) {
    if (announced) return undefined;
    const code = (err as { data?: { error?: string } }).data?.error;
    if (code === 'not_in_channel' || code === 'channel_not_found') await s.refuse(`I can't post in <#${s.channel}>. Invite me first: \`/invite @Seedance\`.`);
    else {
      if (!(err instanceof UserFacingError)) d.logger.error({ err }, 'could not start the job');
      await s.refuse(userMessageFor(err));
    }
    return undefined;
  }
}

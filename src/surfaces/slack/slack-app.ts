/**
 * Wires @slack/bolt to the core: global and message shortcuts, the modal,
 * /video, mentions and thread replies, and the buttons. Every listener acks
 * first (Slack's 3 s), opening modals at once while the trigger_id is valid.
 */
import { App, LogLevel } from '@slack/bolt';
import type { Logger as BoltLogger, webApi } from '@slack/bolt';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type Keyv from 'keyv';
import type { Dispatcher } from 'undici';
import type { Config } from '../../config.js';
import { slackSocketMode } from '../../config.js';
import type { Catalogue } from '../../core/catalogue.js';
import { UserFacingError, userMessageFor } from '../../core/errors.js';
import type { JobRecord } from '../../core/job.js';
import type { JobService } from '../../core/job-service.js';
import type { Logger } from '../../core/logger.js';
import type { ChatSurface } from '../../core/ports.js';
import { inputFromRequest } from '../../core/request.js';
import { parseInlineFlags } from '../common/inline-flags.js';
import type { SlackFile } from './slack-files.js';
import { isImageFile } from './slack-files.js';
import type { ModalMetadata, ViewState } from './slack-modal.js';
import { MODAL_BLOCKS, fieldFor, readModal, videoModal } from './slack-modal.js';
import { ACTIONS, CALLBACKS, parseSlackRef } from './slack-refs.js';
import type { SlackStart } from './slack-start-job.js';
import { declaredInput, startSlackJob, tellPrivately } from './slack-start-job.js';
import { createSlackSurface, jobFileKey, threadJobKey } from './slack-surface.js';

export const SLACK_USAGE =
  'Make a video: `/video a fox running through snow --ratio 9:16 --pro --seed 42 --fixed`, mention me with a prompt (attach an image to animate it), ' +
  'or use the *Make a video* shortcut. Other options: `--lite`, `--res 1080p`, `--duration 10`.';

function boltLogger(log: Logger): BoltLogger {
  let level = LogLevel.INFO;
  const fmt = (msg: unknown[]) => msg.map((m) => (m instanceof Error ? m.message : String(m))).join(' ');
  return {
    debug: (...m: unknown[]) => log.debug({ bolt: true }, fmt(m)),
    info: (...m: unknown[]) => log.info({ bolt: true }, fmt(m)),
    warn: (...m: unknown[]) => log.warn({ bolt: true }, fmt(m)),
    error: (...m: unknown[]) => log.error({ bolt: true }, fmt(m)),
    setLevel: (l: LogLevel) => void (level = l),
    getLevel: () => level,
    setName: () => undefined,
  };
}

export interface SlackBot {
  surface(kv: Keyv): ChatSurface;
  start(deps: { service: JobService; catalogue: Catalogue; kv: Keyv; dispatcher: Dispatcher; imageDownloads: <T>(fn: () => Promise<T>) => Promise<T> }): Promise<void>;
  stop(): Promise<void>;
}

export function createSlackBot(config: Config, logger: Logger): SlackBot {
  const log = logger.child({ platform: 'slack' });
  const socketMode = slackSocketMode(config);
  const token = config.SLACK_BOT_TOKEN!;
  const app = new App({
    token,
    // Socket Mode opens its connection (apps.connections.open) with a client of its own: give it the same API base.
    ...(socketMode
      ? { appToken: config.SLACK_APP_TOKEN!, socketMode: true, installerOptions: { clientOptions: { slackApiUrl: config.SLACK_API_URL } } }
      : { signingSecret: config.SLACK_SIGNING_SECRET! }),
    logger: boltLogger(log),
    // A timeout on every call, and no retries of its own: the core retries what is safe to retry
    // (web-api's default policy retries for half an hour, which would hold a delivery that long).
    clientOptions: { slackApiUrl: config.SLACK_API_URL, timeout: config.PLATFORM_TIMEOUT_MS, retryConfig: { retries: 0 } },
  });
  let team = '';
  let botUserId = '';

  return {
    surface: (kv) => createSlackSurface({ client: app.client, kv, progressIntervalMs: config.SLACK_PROGRESS_INTERVAL_MS }),
    async start({ service, catalogue, kv, dispatcher, imageDownloads }) {
      const d = { service, client: app.client, token, fileHosts: config.SLACK_FILE_HOSTS, dispatcher, logger: log, team: () => team, imageDownloads };
      const start = (s: SlackStart) => startSlackJob(d, s);
      const aliasOf = (job: JobRecord) => catalogue.byId(job.request.modelId)?.alias ?? 'lite';

      async function isAdmin(user: string): Promise<boolean> {
        const info = await app.client.users.info({ user }).catch(() => undefined);
        return Boolean(info?.user?.is_admin || info?.user?.is_owner);
      }

      async function jobFor(jobId: string): Promise<JobRecord> {
        const job = await service.get(jobId);
        if (!job) throw new UserFacingError('not_found', 'That video is no longer known to the bot.');
        return job;
      }

      /** The same request again (new seed, maybe a new prompt); an image is fetched from Slack again. */
      function rerun(job: JobRecord, prompt?: string): Pick<SlackStart, 'input' | 'imageFile'> {
        const imageFile = job.meta.slackFile ? (JSON.parse(job.meta.slackFile) as SlackFile) : undefined;
        const request = imageFile ? { ...job.request, image: undefined, lastFrame: undefined } : job.request;
        const input = inputFromRequest(request, aliasOf(job), prompt ? { prompt } : {});
        if (!input) throw new UserFacingError('not_repeatable', "This video's image wasn't kept, so it can't be made again.");
        return { input, ...(imageFile ? { imageFile } : {}) };
      }

      const threadOf = (job: JobRecord) => {
        const ref = parseSlackRef(job.conversation);
        return { channel: ref.channel ?? '', thread: ref.ts };
      };

      app.error(async (err) => {
        log.error({ err }, 'slack listener failed');
      });

      app.shortcut(CALLBACKS.globalShortcut, async ({ ack, shortcut, client }) => {
        await ack();
        await client.views.open({ trigger_id: shortcut.trigger_id, view: videoModal(catalogue, { withImage: true, withConversation: true, metadata: { kind: 'global' } }) as webApi.View });
      });

      app.shortcut(CALLBACKS.messageShortcut, async ({ ack, shortcut, client }) => {
        await ack();
        if (shortcut.type !== 'message_action') return;
        const message = shortcut.message as { ts: string; thread_ts?: string; text?: string; files?: SlackFile[] };
        const file = message.files?.find(isImageFile);
        if (!file) {
          await tellPrivately(client, { channel: shortcut.channel.id, user: shortcut.user.id, text: ':warning: That message has no image to animate.', ...(message.thread_ts ? { thread: message.thread_ts } : {}) });
          return;
        }
        const metadata: ModalMetadata = { kind: 'animate', channel: shortcut.channel.id, thread: message.thread_ts ?? message.ts, file };
        await client.views.open({ trigger_id: shortcut.trigger_id, view: videoModal(catalogue, { prompt: message.text, withImage: false, withConversation: false, metadata, title: 'Animate this image' }) as webApi.View });
      });

      app.view(CALLBACKS.modal, async ({ ack, view, body }) => {
        const meta = JSON.parse(view.private_metadata || '{"kind":"global"}') as ModalMetadata;
        const form = readModal(view.state.values as ViewState);
        const user = body.user.id;
        let s: SlackStart;
        try {
          if (meta.kind === 'animate') s = { input: form.input, imageFile: meta.file, userId: user, channel: meta.channel, thread: meta.thread, refuse: async () => undefined };
          else if (meta.kind === 'again') s = { ...rerun(await jobFor(meta.jobId), form.input.prompt), userId: user, ...threadOf(await jobFor(meta.jobId)), refuse: async () => undefined };
          else s = { input: form.input, ...(form.imageFile ? { imageFile: form.imageFile } : {}), userId: user, channel: form.conversation ?? user, refuse: async () => undefined };
          service.validate(declaredInput(s));
          await service.checkAdmission({ surface: 'slack', requesterId: user });
        } catch (err) {
          // Shown inline, on the field it is about; nothing is submitted.
          const blocks = view.blocks?.length ? view.blocks.map((b) => b.block_id ?? '') : MODAL_BLOCKS;
          const messages = err instanceof UserFacingError && err.details.length ? err.details : [userMessageFor(err)];
          const errors: Record<string, string> = {};
          for (const m of messages) {
            const field = fieldFor(m, blocks);
            errors[field] = errors[field] ? `${errors[field]}; ${m}` : m;
          }
          await ack({ response_action: 'errors', errors });
          return;
        }
        await ack();
        const target = s;
        await start({ ...target, refuse: (text) => tellPrivately(app.client, { channel: target.channel, user, text: `:warning: ${text}`, ...(target.thread ? { thread: target.thread } : {}) }) });
      });

      app.command(CALLBACKS.command, async ({ ack, command, respond }) => {
        await ack();
        const parsed = parseInlineFlags(command.text, catalogue.aliases());
        const refuse = (text: string) => respond({ response_type: 'ephemeral', text: `:warning: ${text}` }).then(() => undefined);
        if (parsed.problems.length) return refuse(`${parsed.problems.join('; ')}. ${SLACK_USAGE}`);
        if (!parsed.prompt) return refuse(SLACK_USAGE);
        await start({ input: { prompt: parsed.prompt, ...parsed.options }, userId: command.user_id, channel: command.channel_id, refuse });
      });

      async function fromMessage(e: { text?: string; user?: string; channel: string; ts: string; thread_ts?: string; files?: SlackFile[] }) {
        if (!e.user) return;
        const thread = e.thread_ts ?? e.ts;
        const refuse = (text: string) => tellPrivately(app.client, { channel: e.channel, user: e.user!, text: `:warning: ${text}`, thread });
        const text = (e.text ?? '').replace(new RegExp(`<@${botUserId}>`, 'g'), ' ');
        const parsed = parseInlineFlags(text, catalogue.aliases());
        if (parsed.problems.length) return refuse(`${parsed.problems.join('; ')}. ${SLACK_USAGE}`);
        const imageFile = e.files?.find(isImageFile);
        const previousId = e.thread_ts ? await kv.get<string>(threadJobKey(e.channel, e.thread_ts)) : undefined;
        try {
          if (!imageFile && previousId) {
            const again = rerun(await jobFor(previousId), parsed.prompt || undefined);
            return void (await start({ ...again, input: { ...again.input, ...parsed.options }, userId: e.user, channel: e.channel, thread, refuse }));
          }
          if (!parsed.prompt && !imageFile) return refuse(SLACK_USAGE);
          await start({ input: { prompt: parsed.prompt, ...parsed.options }, ...(imageFile ? { imageFile } : {}), userId: e.user, channel: e.channel, thread, refuse });
        } catch (err) {
          await refuse(userMessageFor(err));
        }
      }

      app.event('app_mention', async ({ event }) => {
        await fromMessage(event as Parameters<typeof fromMessage>[0]);
      });

      // A reply with an image in the thread of one of our videos, without a mention (mentions come as app_mention).
      app.message(async ({ message }) => {
        const m = message as { subtype?: string; bot_id?: string; user?: string; text?: string; channel: string; ts: string; thread_ts?: string; files?: SlackFile[] };
        if (m.bot_id || !m.thread_ts || (m.subtype && m.subtype !== 'file_share')) return;
        if (botUserId && m.text?.includes(`<@${botUserId}>`)) return;
        if (!m.files?.some(isImageFile)) return;
        if (!(await kv.get<string>(threadJobKey(m.channel, m.thread_ts)))) return;
        await fromMessage(m);
      });

      app.action(/^sd_/, async ({ ack, action, body, client }) => {
        await ack();
        const a = action as { action_id: string; value?: string };
        const b = body as { user: { id: string }; channel?: { id: string }; message?: { ts: string; thread_ts?: string }; trigger_id?: string };
        const user = b.user.id;
        const channel = b.channel?.id ?? user;
        const thread = b.message?.thread_ts ?? b.message?.ts;
        const refuse = (text: string) => tellPrivately(client, { channel, user, text: `:warning: ${text}`, ...(thread ? { thread } : {}) });
        try {
          const job = await jobFor(a.value ?? '');
          const allowed = async () => job.requester.id === user || (await isAdmin(user));
          switch (a.action_id) {
            case ACTIONS.cancel:
              if (!(await allowed())) throw new UserFacingError('forbidden', 'Only the person who asked for this video (or a workspace admin) can cancel it.');
              await service.cancel(job.id, { id: user, force: true });
              await tellPrivately(client, { channel, user, text: 'Stopped. The provider may still finish the job and charge for it.', ...(thread ? { thread } : {}) });
              return;
            case ACTIONS.delete: {
              if (!(await allowed())) throw new UserFacingError('forbidden', 'Only the person who asked for this video, or a workspace admin, can delete it.');
              const fileId = await kv.get<string>(jobFileKey(job.id));
              if (fileId && fileId !== 'unknown') await client.files.delete({ file: fileId }).catch((err: unknown) => log.warn({ err }, 'file delete failed'));
              if (b.message) await client.chat.delete({ channel, ts: b.message.ts });
              return;
            }
            case ACTIONS.reroll:
              await start({ ...rerun(job), userId: user, ...threadOf(job), refuse });
              return;
            case ACTIONS.again:
              await client.views.open({
                trigger_id: b.trigger_id!,
                view: videoModal(catalogue, { prompt: job.request.prompt, withImage: false, withConversation: false, metadata: { kind: 'again', jobId: job.id }, title: 'Animate again' }) as webApi.View,
              });
              return;
          }
        } catch (err) {
          if (!(err instanceof UserFacingError)) log.error({ err }, 'button failed');
          await refuse(userMessageFor(err));
        }
      });

      const auth = await app.client.auth.test();
      team = auth.team_id ?? 'T';
      botUserId = auth.user_id ?? '';
      const server = (socketMode ? await app.start() : await app.start(config.PORT)) as Server | undefined;
      const port = server && typeof server.address === 'function' ? (server.address() as AddressInfo | null)?.port : undefined;
      log.info({ team, mode: socketMode ? 'socket' : 'http', ...(port ? { port } : {}) }, 'connected to Slack');
    },
    async stop() {
      await app.stop().catch(() => undefined);
    },
  };
}

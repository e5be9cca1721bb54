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
import { isImageFile, lookUpSlackFile } from './slack-files.js';
import type { ModalMetadata, ViewState } from './slack-modal.js';
import { MODAL_BLOCKS, fieldFor, readModal, videoModal } from './slack-modal.js';
import { ACTIONS, CALLBACKS, parseSlackRef } from './slack-refs.js';
import type { SlackStart } from './slack-start-job.js';
import { declaredInput, startSlackJob, tellPrivately } from './slack-start-job.js';
import { createSlackSurface, jobFileKey, threadJobKey } from './slack-surface.js';
import type { PlatformConnection } from '../../platform-connection.js';
import { within } from '../../platform-connection.js';
import { RESTARTING } from '../discord/discord-start-job.js';

export const SLACK_USAGE =
  'Make a video: `/video a fox running through snow --ratio 9:16 --pro --seed 42 --fixed`, mention me with a prompt (attach an image to animate it), ' +
  'or use the *Make a video* shortcut. Other options: `--lite`, `--res 1080p`, `--duration 10`.';

/**
 * The id a delivery of this payload carries, for the payloads that can start a job:
 * an event's event_id, or an interaction's trigger_id (a slash command, shortcut,
 * button or modal submission; a re-sent copy carries the same one).
 */
export function deliveryKey(body: Record<string, unknown>): string | undefined {
  if (body.type === 'event_callback') {
    const e = body.event as { type?: string; subtype?: string; bot_id?: string; thread_ts?: string; channel_type?: string } | undefined;
    if (!e || typeof body.event_id !== 'string') return undefined;
    const candidate = e.type === 'app_mention' || (e.type === 'message' && !e.bot_id && (!e.subtype || e.subtype === 'file_share') && (e.thread_ts || e.channel_type === 'im'));
    return candidate ? `slack:event:${body.event_id}` : undefined;
  }
  if (typeof body.trigger_id === 'string') return `slack:${typeof body.command === 'string' ? 'command' : 'interaction'}:${body.trigger_id}`;
  if (typeof body.response_url === 'string') return `slack:response:${body.response_url}`;
  return undefined;
}

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
  /** Registers the listeners (once). `accepting` turns new requests away while shutting down. */
  wire(deps: {
    service: JobService;
    catalogue: Catalogue;
    kv: Keyv;
    dispatcher: Dispatcher;
    imageDownloads: <T>(fn: () => Promise<T>) => Promise<T>;
    accepting: () => boolean;
  }): void;
  connection: PlatformConnection;
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
    // Bolt would otherwise call auth.test from its constructor, and a failure there (Slack down at
    // start) is an unhandled rejection that kills the process; connect() initialises it instead.
    deferInitialization: true,
    // A timeout on every call, and no retries of its own: the core retries what is safe to retry
    // (web-api's default policy retries for half an hour, which would hold a delivery that long).
    clientOptions: { slackApiUrl: config.SLACK_API_URL, timeout: config.PLATFORM_TIMEOUT_MS, retryConfig: { retries: 0 } },
  });
  let team = '';
  let botUserId = '';
  let started = false;
  let initialised = false;
  let watching = false;
  let socketUp = false;

  return {
    surface: (kv) => createSlackSurface({ client: app.client, kv, progressIntervalMs: config.SLACK_PROGRESS_INTERVAL_MS }),
    wire({ service, catalogue, kv, dispatcher, imageDownloads, accepting }) {
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

      // Slack re-sends an event or request whose ack was slow (x-slack-retry-num), and a
      // duplicated delivery carries the same id: each is recorded before any listener can
      // start a job, and a second copy is acknowledged and ignored.
      app.use(async (args) => {
        const { body, next, ack } = args;
        const respond = (args as { respond?: (m: { response_type: 'ephemeral'; text: string }) => Promise<unknown> }).respond;
        if (!accepting()) {
          // Shutting down: nothing new is started (an event was already acknowledged by Bolt).
          if (ack) await ack();
          await respond?.({ response_type: 'ephemeral', text: `:hourglass: ${RESTARTING}` }).catch(() => undefined);
          return;
        }
        const key = deliveryKey(body as Record<string, unknown>);
        if (!key) return next();
        let first: boolean;
        try {
          first = await service.firstDelivery(key);
        } catch (err) {
          // Nothing is started; the person is told (Bolt has already acknowledged an event).
          const text = `:warning: ${userMessageFor(err)}`;
          if (ack) await ack();
          if (respond) await respond({ response_type: 'ephemeral', text }).catch(() => undefined);
          else {
            const e = (body as { event?: { user?: string; channel?: string; thread_ts?: string; ts?: string } }).event;
            if (e?.user && e.channel) await tellPrivately(app.client, { channel: e.channel, user: e.user, text, ...(e.thread_ts ?? e.ts ? { thread: (e.thread_ts ?? e.ts)! } : {}) }).catch(() => undefined);
          }
          return;
        }
        if (first) return next();
        log.info({ event: key }, 'ignored a repeated Slack delivery');
        await ack?.();
      });

      app.shortcut(CALLBACKS.globalShortcut, async ({ ack, shortcut, client }) => {
        await ack();
        try {
          await client.views.open({ trigger_id: shortcut.trigger_id, view: videoModal(catalogue, { withImage: true, withConversation: true, metadata: { kind: 'global' } }) as webApi.View });
        } catch (err) {
          // A global shortcut has no conversation: the app's DM with the person says what happened.
          const code = (err as { data?: { error?: string } }).data?.error ?? (err as Error).message;
          log.warn({ err, code }, 'could not open the modal');
          await client.chat
            .postMessage({ channel: shortcut.user.id, text: `:warning: I couldn't open the video form (Slack said \`${code}\`). Please try the shortcut again.` })
            .catch((e: unknown) => log.warn({ err: e }, 'could not tell the user the form failed'));
        }
      });

      app.shortcut(CALLBACKS.messageShortcut, async ({ ack, shortcut, client }) => {
        await ack();
        if (shortcut.type !== 'message_action') return;
        const message = shortcut.message as { ts: string; thread_ts?: string; text?: string; files?: SlackFile[] };
        const file = message.files?.find(isImageFile);
        const tell = (text: string) => tellPrivately(client, { channel: shortcut.channel.id, user: shortcut.user.id, text, ...(message.thread_ts ? { thread: message.thread_ts } : {}) });
        if (!file?.id) return tell(':warning: That message has no image to animate.');
        // Ids only (Slack's limit is 3,000 characters; a file object can be longer): the file is looked up on submit.
        const metadata: ModalMetadata = { kind: 'animate', channel: shortcut.channel.id, thread: message.thread_ts ?? message.ts, fileId: file.id };
        try {
          await client.views.open({ trigger_id: shortcut.trigger_id, view: videoModal(catalogue, { prompt: message.text, withImage: false, withConversation: false, metadata, title: 'Animate this image' }) as webApi.View });
        } catch (err) {
          const code = (err as { data?: { error?: string } }).data?.error ?? (err as Error).message;
          log.warn({ err, code }, 'could not open the modal');
          await tell(`:warning: I couldn't open the form (Slack said \`${code}\`). Please try again.`);
        }
      });

      app.view(CALLBACKS.modal, async ({ ack, view, body }) => {
        const meta = JSON.parse(view.private_metadata || '{"kind":"global"}') as ModalMetadata;
        const form = readModal(view.state.values as ViewState);
        const user = body.user.id;
        let s: SlackStart;
        try {
          // A modal opened before the metadata held ids only still carries the whole file.
          if (meta.kind === 'animate') s = { input: form.input, imageFile: (meta as { file?: SlackFile }).file ?? (await lookUpSlackFile(app.client, meta.fileId, 'image')), userId: user, channel: meta.channel, thread: meta.thread, refuse: async () => undefined };
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

    },
    connection: {
      name: 'Slack',
      async connect() {
        try {
          await within(
            (async () => {
              const auth = await app.client.auth.test();
              team = auth.team_id ?? 'T';
              botUserId = auth.user_id ?? '';
              if (!initialised) {
                await app.init();
                initialised = true;
              }
              const server = (socketMode ? await app.start() : await app.start(config.PORT)) as Server | undefined;
              started = true;
              socketUp = true;
              watchSocket();
              const port = server && typeof server.address === 'function' ? (server.address() as AddressInfo | null)?.port : undefined;
              log.info({ team, mode: socketMode ? 'socket' : 'http', ...(port ? { port } : {}) }, 'connected to Slack');
            })(),
            config.PLATFORM_CONNECT_TIMEOUT_S * 1000,
            'Slack did not connect',
          );
        } catch (err) {
          await app.stop().catch(() => undefined);
          throw err;
        }
      },
      connected: () => started && socketUp,
      async stop() {
        started = false;
        await app.stop().catch(() => undefined);
      },
    },
  };

  /** In Socket Mode, follows the socket's state (the client reconnects by itself). */
  function watchSocket() {
    if (!socketMode || watching) return;
    const receiver = (app as unknown as { receiver?: { client?: { on?(e: string, f: () => void): void } } }).receiver;
    const events = receiver?.client;
    if (!events?.on) return;
    watching = true;
    events.on('connected', () => (socketUp = true));
    events.on('reconnecting', () => (socketUp = false));
    events.on('disconnected', () => (socketUp = false));
  }
}

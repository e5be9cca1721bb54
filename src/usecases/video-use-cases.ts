/**
 * The use cases every platform offers, written once: start a video (and its
 * re-roll, "animate again" and Extend), cancel, delete, usage today, and the admin
 * settings. A platform adapter translates its events into these calls (who is
 * asking, where, with what authority) and renders the answers; it never
 * re-implements a rule.
 *
 * Rules are named checks run in one pipeline, in order:
 * - `channelAllowed`: the place's allowed channels (a thread counts as its parent);
 * - `dailyLimit`: the place's per-member limit and DAILY_LIMIT_PER_USER;
 * - `perUserCap`: the person's unfinished jobs, and the queue's length;
 * - `requesterOrModerator`: only the requester, or a moderator of the job's own
 *   place, may cancel or delete a job.
 * The limits are decided again, atomically, when the job is admitted; the checks
 * only make sure a refusal comes before anything is posted or downloaded.
 */
import type { Place } from '../core/admission.js';
import { limitsReached, refusal } from '../core/admission.js';
import type { Catalogue } from '../core/catalogue.js';
import { UserFacingError } from '../core/errors.js';
import type { JobRecord } from '../core/job.js';
import type { Announce, JobService } from '../core/job-service.js';
import type { AdmissionLimit } from '../core/job-store.js';
import type { GenerationInput } from '../core/request.js';
import { inputFromRequest } from '../core/request.js';
import type { LastFrames } from './extend.js';
import { createExtend } from './extend.js';
import type { PlaceSettings, PlaceSettingsStore } from './place-settings.js';

/** Who asks, as the platform vouches for them. */
export interface Actor {
  surface: string;
  userId: string;
  userName?: string;
  /** May moderate jobs in `where.place` (Discord: Manage Messages there; Slack: a workspace admin). */
  canModerate(): Promise<boolean>;
  /** May change the place's settings (Discord: Manage Server; Slack: a workspace admin or owner). */
  canAdminister(): Promise<boolean>;
  /** What administering takes, in the platform's words ("the **Manage Server** permission"). */
  adminRight?: string;
}

/** Where they ask. */
export interface Where {
  /** A place with settings and limits of its own; absent in DMs and the terminal. */
  place?: { key: string; label: string };
  channelId: string;
  /** The parent channel, when asked in a thread. */
  parentId?: string | null;
  /** A direct message inside the place: its limits apply, its channel list does not. */
  dm?: boolean;
}

export interface StartRequest {
  actor: Actor;
  where: Where;
  /** What was asked, as declared (an image may still have to be fetched: see `materialize`). */
  input: GenerationInput;
  conversation: string;
  meta?: Record<string, string>;
  /** Posts the first progress message; by default a new message in `conversation`. */
  announce?: Announce;
  /** Fetches what was only declared (e.g. a Slack file), once every check has passed. */
  materialize?(input: GenerationInput): Promise<GenerationInput>;
}

export type CheckName = 'channelAllowed' | 'dailyLimit' | 'perUserCap' | 'requesterOrModerator';

interface CheckContext {
  actor: Actor;
  where: Where;
  settings: PlaceSettings;
  place?: Place;
  job?: JobRecord;
  usage?: ReturnType<JobService['usage']>;
}

const DAILY: readonly AdmissionLimit[] = ['user_daily', 'place_daily'];
const CAPS: readonly AdmissionLimit[] = ['user_active', 'queue_length'];

export type AdminCommand =
  | { kind: 'show' }
  | { kind: 'channel-add'; channel: string }
  | { kind: 'channel-remove'; channel: string }
  | { kind: 'channels-clear' }
  | { kind: 'daily-limit'; limit: number }
  | { kind: 'default-model'; model: string | undefined }
  | { kind: 'default-resolution'; resolution: string | undefined };

export interface UsageReport {
  today: number;
  todayHere: number;
  /** The tightest daily limit that applies here, and whose it is. */
  limit?: { perDay: number; by: 'bot' | 'place'; label: string };
  running: number;
  waiting: number;
}

export interface UseCaseDeps {
  service: JobService;
  settings: PlaceSettingsStore;
  catalogue: Catalogue;
  /** Delivered videos' last frames, for Extend; absent without ffmpeg. */
  frames?: LastFrames;
  /** How long finished jobs are kept (JOB_RETENTION_DAYS), for the answer about an expired one. */
  jobRetentionDays?: number;
  now?: () => number;
}

export function createVideoUseCases(d: UseCaseDeps) {
  const placeOf = (where: Where, settings: PlaceSettings): Place | undefined =>
    where.place ? { key: where.place.key, label: where.place.label, dailyLimit: settings.dailyLimit } : undefined;

  async function settingsFor(where: Where): Promise<PlaceSettings> {
    try {
      return await d.settings.get(where.place?.key);
    } catch {
      throw new UserFacingError('store_unavailable', `The bot couldn't read ${where.place?.label ?? 'the'} settings just now, so nothing was started. Try again in a minute.`);
    }
  }

  /** The limits of `kinds` this person has reached; one usage read per pipeline run, shared. */
  function limitCheck(kinds: readonly AdmissionLimit[]) {
    return async (c: CheckContext) => {
      c.usage ??= d.service.usage({ surface: c.actor.surface, requesterId: c.actor.userId, ...(c.place ? { place: c.place } : {}) });
      const { usage, limits } = await c.usage;
      const hit = limitsReached(limits, usage).find((k) => kinds.includes(k));
      if (hit) throw refusal(hit, usage, limits, c.place);
    };
  }

  const CHECKS: Record<CheckName, (c: CheckContext) => Promise<void>> = {
    async channelAllowed(c) {
      const allowed = c.settings.channels;
      if (!c.where.place || c.where.dm || !allowed.length) return;
      if (allowed.includes(c.where.channelId) || (c.where.parentId && allowed.includes(c.where.parentId))) return;
      throw new UserFacingError('channel_not_allowed', `Videos can be made in ${allowed.map((id) => `<#${id}>`).join(', ')}.`);
    },
    dailyLimit: limitCheck(DAILY),
    perUserCap: limitCheck(CAPS),
    async requesterOrModerator(c) {
      const job = c.job!;
      if (job.requester.id === c.actor.userId && job.surface === c.actor.surface) return;
      // A moderator moderates the jobs of their own place only.
      if (job.place && job.place === c.where.place?.key && (await c.actor.canModerate())) return;
      throw new UserFacingError('forbidden', `Only the person who asked for this video, or a moderator of ${c.where.place?.label ?? 'this place'}, can do that.`);
    },
  };

  async function run(names: readonly CheckName[], c: CheckContext): Promise<void> {
    for (const name of names) await CHECKS[name](c);
  }

  async function jobFor(jobId: string): Promise<JobRecord> {
    const job = await d.service.get(jobId);
    // Finished jobs expire after JOB_RETENTION_DAYS: the buttons and replies of an older video land here.
    const kept = d.jobRetentionDays ? ` (it keeps them for ${d.jobRetentionDays} day${d.jobRetentionDays === 1 ? '' : 's'})` : '';
    if (!job) throw new UserFacingError('not_found', `The bot no longer has this video's details${kept}, so it can't re-roll, extend, cancel or delete it. Start a new video instead.`);
    return job;
  }

  /** Every check a start goes through, and the place's defaults applied; nothing is posted. */
  async function preflight(r: Pick<StartRequest, 'actor' | 'where' | 'input'>): Promise<{ input: GenerationInput; place?: Place }> {
    const settings = await settingsFor(r.where);
    const place = placeOf(r.where, settings);
    const c: CheckContext = { actor: r.actor, where: r.where, settings, ...(place ? { place } : {}) };
    await run(['channelAllowed'], c);
    const input: GenerationInput = {
      ...r.input,
      ...(r.input.model ?? settings.defaultModel ? { model: r.input.model ?? settings.defaultModel } : {}),
      ...(r.input.resolution ?? settings.defaultResolution ? { resolution: r.input.resolution ?? settings.defaultResolution } : {}),
    };
    // Validation first: a bad request is answered with its reason before any limit is counted.
    d.service.validate(input);
    await run(['dailyLimit', 'perUserCap'], c);
    return { input, ...(place ? { place } : {}) };
  }

  const aliasOf = (job: JobRecord) => d.catalogue.byId(job.request.modelId)?.alias ?? 'lite';

  return {
    preflight,
    jobFor,
    /** Extend: `extendOffer(job)` and `extend(job, {prompt, from})`, an input for `start` (extend.ts). */
    ...createExtend({ catalogue: d.catalogue, ...(d.frames ? { frames: d.frames } : {}), now: d.now ?? Date.now, aliasOf }),

    /** Starts a video: checks, defaults, validation, then the core (which admits atomically). */
    async start(r: StartRequest): Promise<JobRecord> {
      const { input, place } = await preflight(r);
      const ready = r.materialize ? await r.materialize(input) : input;
      const { job } = await d.service.submit({
        input: ready,
        surface: r.actor.surface,
        conversation: r.conversation,
        requester: { id: r.actor.userId, ...(r.actor.userName ? { name: r.actor.userName } : {}) },
        ...(r.meta ? { meta: r.meta } : {}),
        ...(place ? { place } : {}),
        ...(r.announce ? { announce: r.announce } : {}),
      });
      return job;
    },

    /**
     * The request behind `job` again, with a new seed (and maybe a new prompt): for Re-roll and
     * Animate again. Throws when its image wasn't kept (an inline image lives only while its job runs).
     */
    again(job: JobRecord, prompt?: string, opts: { dropImages?: boolean } = {}): GenerationInput {
      const request = opts.dropImages ? { ...job.request, image: undefined, lastFrame: undefined, references: undefined } : job.request;
      const input = inputFromRequest(request, aliasOf(job), prompt ? { prompt } : {});
      if (!input) throw new UserFacingError('not_repeatable', "This video's image wasn't kept, so it can't be made again. Attach the image again.");
      return input;
    },

    /** Cancels a job for its requester or a moderator of its place. */
    async cancel(actor: Actor, where: Where, jobId: string): Promise<JobRecord> {
      const job = await jobFor(jobId);
      await run(['requesterOrModerator'], { actor, where, settings: await settingsFor(where), job });
      return d.service.cancel(job.id, { id: actor.userId, force: true });
    },

    /** Checks that `actor` may cancel or delete `jobId` (before an adapter answers or deletes anything). */
    async authorize(actor: Actor, where: Where, jobId: string): Promise<JobRecord> {
      const job = await jobFor(jobId);
      await run(['requesterOrModerator'], { actor, where, settings: await settingsFor(where), job });
      return job;
    },

    /** The person's usage today, against the tightest daily limit that applies here. */
    async usage(actor: Actor, where: Where): Promise<UsageReport> {
      const settings = await settingsFor(where);
      const place = placeOf(where, settings);
      const { usage, limits } = await d.service.usage({ surface: actor.surface, requesterId: actor.userId, ...(place ? { place } : {}) });
      const candidates: NonNullable<UsageReport['limit']>[] = [];
      if (limits.perUserDaily !== undefined) candidates.push({ perDay: limits.perUserDaily, by: 'bot', label: 'this bot' });
      if (limits.placeDaily !== undefined && place) candidates.push({ perDay: limits.placeDaily, by: 'place', label: place.label });
      const used = (l: NonNullable<UsageReport['limit']>) => (l.by === 'bot' ? usage.today : usage.todayInPlace);
      const tightest = candidates.sort((a, b) => a.perDay - used(a) - (b.perDay - used(b)))[0];
      return { today: usage.today, todayHere: usage.todayInPlace, ...(tightest ? { limit: tightest } : {}), running: usage.active - usage.queued, waiting: usage.queued };
    },

    /** Reads or changes the place's settings (admins only). */
    async admin(actor: Actor, where: Where, cmd: AdminCommand): Promise<PlaceSettings> {
      if (!where.place) throw new UserFacingError('no_place', 'Settings apply to a server or workspace; use this command there.');
      if (!(await actor.canAdminister())) throw new UserFacingError('forbidden', `Changing the bot's settings needs ${actor.adminRight ?? 'admin rights'} in ${where.place.label}.`);
      const key = where.place.key;
      const current = await settingsFor(where);
      switch (cmd.kind) {
        case 'show':
          return current;
        case 'channel-add':
          return d.settings.update(key, { channels: [...new Set([...current.channels, cmd.channel])] });
        case 'channel-remove':
          return d.settings.update(key, { channels: current.channels.filter((c) => c !== cmd.channel) });
        case 'channels-clear':
          return d.settings.update(key, { channels: [] });
        case 'daily-limit':
          if (!Number.isInteger(cmd.limit) || cmd.limit < 0 || cmd.limit > 10_000) throw new UserFacingError('bad_limit', 'The daily limit is a whole number from 0 (no limit) to 10000.');
          return d.settings.update(key, { dailyLimit: cmd.limit });
        case 'default-model':
          if (cmd.model !== undefined && !d.catalogue.aliases().includes(cmd.model)) {
            throw new UserFacingError('unknown_model', `Unknown model "${cmd.model}"; choose ${d.catalogue.aliases().join(', ')}.`);
          }
          return d.settings.update(key, { defaultModel: cmd.model });
        case 'default-resolution':
          if (cmd.resolution !== undefined && !(d.catalogue.allResolutions() as string[]).includes(cmd.resolution)) {
            throw new UserFacingError('unknown_resolution', `Unknown resolution "${cmd.resolution}"; choose ${d.catalogue.allResolutions().join(', ')}.`);
          }
          return d.settings.update(key, { defaultResolution: cmd.resolution });
      }
    },
  };
}

export type VideoUseCases = ReturnType<typeof createVideoUseCases>;

/** The settings in words (channel mentions as `<#id>`, which Discord and Slack both render). */
export function describeSettings(s: PlaceSettings, label: string): string {
  const channels = s.channels.length ? s.channels.map((c) => `<#${c}>`).join(', ') : 'every channel';
  return [
    `Video settings for ${label}:`,
    `• Channels: ${channels}`,
    `• Daily limit per member: ${s.dailyLimit > 0 ? s.dailyLimit : 'none'}`,
    `• Default model: ${s.defaultModel ?? 'bot default'}`,
    `• Default resolution: ${s.defaultResolution ?? 'bot default'}`,
  ].join('\n');
}

/** Usage in words. */
export function describeUsage(u: UsageReport): string {
  const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;
  const lines = [u.limit ? `You've made ${plural(u.limit.by === 'bot' ? u.today : u.todayHere, 'video')} today (UTC); ${u.limit.label} allows ${u.limit.perDay} a day.` : `You've made ${plural(u.today, 'video')} today (UTC); there is no daily limit.`];
  if (u.running || u.waiting) lines.push(`Under way: ${plural(u.running, 'video')} rendering${u.waiting ? `, ${u.waiting} waiting` : ''}.`);
  return lines.join('\n');
}

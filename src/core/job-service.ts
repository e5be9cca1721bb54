/**
 * The generation core's use cases, for every surface: check admission, submit
 * (validate, admit atomically, announce, queue), cancel, look a job up, start
 * and stop. The engine that carries jobs through their life is job-runner.ts;
 * its steps return outcomes (submit-step, job-polling, delivery) that the job
 * machine writes durably against the lifecycle table. All state is in the job
 * store, so a restart (or another instance) picks up where this one stopped.
 */
import { randomUUID } from 'node:crypto';
import type { Place } from './admission.js';
import { admissionLimits, reachedLimit, refusal } from './admission.js';
import type { AdmissionConfig } from './admission.js';
import type { Catalogue } from './catalogue.js';
import type { Clock } from './clock.js';
import type { CoreMetrics, JobCounts } from './core-metrics.js';
import { UserFacingError } from './errors.js';
import type { PollPolicy } from './eta.js';
import type { SharedFrameCopies } from './frame-store.js';
import type { InstanceIdentity } from './instance.js';
import type { JobRecord } from './job.js';
import { isFinal, utcDay } from './job.js';
import { createJobRunner } from './job-runner.js';
import type { AdmissionLimits, JobStore, Usage } from './job-store.js';
import type { Logger } from './logger.js';
import type { ChatSurface, SurfaceMessage, VideoFetcher, VideoProvider, VideoTools } from './ports.js';
import { progressView, viewKey } from './progress.js';
import type { GenerationInput, RequestValidator } from './request.js';

export interface JobServiceConfig extends AdmissionConfig {
  /** Jobs at the provider at once, across everyone. */
  maxInFlight: number;
  /** Give up on a job this long after submit. */
  maxAgeMs: number;
  maxVideoBytes: number;
  /** Downloads wait while `DATA_DIR/videos` holds this much. */
  videosCapBytes: number;
  /** Keep trying to deliver a finished video for this long. */
  deliveryDeadlineMs: number;
  leaseMs: number;
  pollPolicy: PollPolicy;
  /** Status requests in flight at once. */
  pollConcurrency: number;
  workDir: string;
  /** How long an unknown provider status word is tolerated before the job fails. */
  unknownStatusGraceMs: number;
  /** Submits holding an inline image in memory at once. */
  inlineSubmits?: number;
  /** Deliveries (download and upload) under way at once. */
  deliveryConcurrency?: number;
  /** Create requests under way at once. */
  submitConcurrency?: number;
  /** How long the last frame of a delivered video is kept (FRAME_RETENTION_DAYS); 0 keeps none. Default 7 days. */
  frameRetentionMs?: number;
  /** How long a finished job's record is kept after its last write (JOB_RETENTION_DAYS). Default 30 days. */
  jobRetentionMs?: number;
}

export interface JobServiceDeps {
  store: JobStore;
  providers: Readonly<Record<string, VideoProvider>>;
  catalogue: Catalogue;
  validator: RequestValidator;
  surfaces: readonly ChatSurface[];
  fetcher: VideoFetcher;
  clock: Clock;
  logger: Logger;
  config: JobServiceConfig;
  /** Who this instance is; defaults to this process. */
  identity?: InstanceIdentity;
  /**
   * ffmpeg (or another implementation) that passed `detect()`: over-limit videos are re-encoded to
   * fit and last frames are kept. Without it, over-limit videos go as links and there are no frames.
   */
  videoTools?: VideoTools;
  /** Where the core records jobs, provider requests and deliveries; records nothing by default. */
  metrics?: CoreMetrics;
  /** A store every instance reaches (Redis), for copies of last frames; none on one host. */
  sharedFrames?: SharedFrameCopies;
}

/** Posts the first message of a job; returns its reference (and the conversation, if the surface chose one). */
export type Announce = (job: JobRecord, message: SurfaceMessage) => Promise<{ progressMessage: string; conversation?: string }>;

export interface SubmitInput {
  input: GenerationInput;
  surface: string;
  /** Where the video goes (a surface may refine it when announcing). */
  conversation: string;
  requester: { id: string; name?: string };
  meta?: Record<string, string>;
  /** A place with limits of its own (a Discord server). */
  place?: Place;
  /** Posts the first progress message; by default a new message in `conversation`. */
  announce?: Announce;
}

export interface SubmitResult {
  job: JobRecord;
  /** Position in our queue (1-based) when the job has to wait. */
  queuePosition?: number;
}

export type JobEventNotice = { type: 'status'; job: JobRecord } | { type: 'finished'; job: JobRecord };

/** How long an event id is remembered: far longer than any platform retries or replays. */
const EVENT_MEMORY_MS = 24 * 3_600_000;

const STORE_DOWN = "The bot couldn't save your request just now, so nothing was started. Try again in a minute.";

export function createJobService(deps: JobServiceDeps) {
  const { store, clock, config } = deps;
  const log = deps.logger;
  const r = createJobRunner(deps);
  const { self, live, listeners, files, machine, queue, summary, surfaces, track, apply, end, tell, queueChanged, pump } = r;

  /** What one person has going and has made today (here and everywhere), with the limits that apply. */
  async function readUsage(s: { surface: string; requesterId: string; place?: Place }): Promise<{ usage: Usage; limits: AdmissionLimits }> {
    const usage = await store.usage({ surface: s.surface, requesterId: s.requesterId, ...(s.place ? { place: s.place.key } : {}), day: utcDay(clock.now()) }).catch((err: unknown) => {
      log.error({ err }, 'could not read usage');
      throw new UserFacingError('store_unavailable', STORE_DOWN);
    });
    return { usage, limits: admissionLimits(config, s.place) };
  }

  return {
    instanceId: r.self,
    validate: (input: GenerationInput) => deps.validator.parse(input),
    onEvent(listener: (e: JobEventNotice) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    /**
     * True the first time a platform event (`surface:kind:id`) is seen, false for a retried or
     * replayed copy, which must then be acknowledged and ignored. Recorded before anything
     * is started; if it can't be recorded, nothing is started.
     */
    async firstDelivery(key: string): Promise<boolean> {
      const now = clock.now();
      return store.claimEvent(key, now, now + EVENT_MEMORY_MS).catch((err: unknown) => {
        log.error({ err, event: key }, 'could not record an incoming event');
        throw new UserFacingError('store_unavailable', STORE_DOWN);
      });
    },

    /** What one person has going and has made today (here and everywhere), with the limits that apply. */
    usage: readUsage,

    /** Throws the refusal if this person has already reached a limit (a quick check; `submit` decides atomically). */
    async checkAdmission(s: { surface: string; requesterId: string; place?: Place }): Promise<void> {
      const { usage, limits } = await readUsage(s);
      const hit = reachedLimit(limits, usage);
      if (hit) throw refusal(hit, usage, limits, s.place);
    },

    /** Validates, admits (limits checked atomically), announces and queues a job. Throws UserFacingError for the user. */
    async submit(s: SubmitInput): Promise<SubmitResult> {
      const surface = surfaces.get(s.surface);
      if (!surface) throw new Error(`unknown surface ${s.surface}`);
      const parsed = deps.validator.parse(s.input);
      const spec = deps.catalogue.byId(parsed.modelId)!;
      const id = randomUUID();
      const now = clock.now();
      const request = { ...parsed };
      try {
        if (request.image) request.image = await files.storeImage(id, 'first', request.image);
        if (request.lastFrame) request.lastFrame = await files.storeImage(id, 'last', request.lastFrame);
        if (request.references) request.references = await Promise.all(request.references.map((r, i) => files.storeImage(id, `ref${i + 1}`, r)));
      } catch (err) {
        log.error({ jobId: id, err }, 'could not store the input image');
        throw new UserFacingError('store_unavailable', STORE_DOWN);
      }
      const draft: JobRecord = {
        id,
        version: 0,
        surface: s.surface,
        conversation: s.conversation,
        requester: s.requester,
        ...(s.place ? { place: s.place.key } : {}),
        meta: s.meta ?? {},
        request,
        provider: spec.provider,
        status: 'queued',
        createdAt: now,
        updatedAt: now,
        attempts: { submit: 0, delivery: 0 },
        owner: self,
        unannounced: true,
      };
      const limits = admissionLimits(config, s.place);
      let admitted;
      try {
        admitted = await store.admit(draft, limits);
      } catch (err) {
        log.error({ jobId: id, err }, 'could not admit the job');
        await files.removeJobFiles(draft).catch(() => undefined);
        throw new UserFacingError('store_unavailable', STORE_DOWN);
      }
      if (!admitted.ok) {
        await files.removeJobFiles(draft).catch(() => undefined);
        const usage = await store.usage({ surface: s.surface, requesterId: s.requester.id, ...(s.place ? { place: s.place.key } : {}), day: utcDay(now) });
        throw refusal(admitted.limit, usage, limits, s.place);
      }
      const l = track(admitted.job);
      l.held = true;
      log.info({ jobId: id, model: spec.id, surface: s.surface }, 'job admitted');
      r.metrics.jobStarted(s.surface, spec.id);

      // The first message: where the job will wait (behind others) or that it is being sent.
      const mustWait = queue.inFlight >= config.maxInFlight || queue.waiting > 0;
      const view = progressView({ jobId: id, phase: mustWait ? 'queued' : 'submitting', ...(mustWait ? { queuePosition: queue.waiting + 1 } : {}), elapsedMs: 0 });
      const message: SurfaceMessage = { kind: 'progress', job: summary(l.job), progress: view };
      try {
        const announce: Announce = s.announce ?? (async (job, m) => ({ progressMessage: await surface.post(job.conversation, m) }));
        const posted = await announce(l.job, message);
        l.progress.lastKey = viewKey(view);
        l.progress.lastSentAt = clock.now();
        // Stored before the job may be submitted: a job found unannounced after a crash is dropped.
        await apply(l, { type: 'announced', ...posted });
      } catch (err) {
        // Nobody was told about this job: drop it (nothing was submitted; it doesn't count).
        log.warn({ jobId: id, err }, 'could not post the first message; the job is dropped');
        l.held = false;
        await machine.commit(l, { type: 'fail', code: 'not_announced', text: 'The first message could not be posted.' }).catch(() => undefined);
        await end(l, undefined);
        throw err;
      }
      l.held = false;
      if (!live.has(id)) return { job: l.job };
      queue.track(l);
      queueChanged();
      await pump();
      return { job: l.job, ...(l.job.status === 'queued' ? { queuePosition: queue.position(id) } : {}) };
    },

    /**
     * Cancels a job for `by` (the requester, or anyone with `force`). Queued jobs cost nothing;
     * a job being submitted stops as soon as the provider answers; submitted ones may still be charged.
     */
    async cancel(jobId: string, by: { id: string; force?: boolean }): Promise<JobRecord> {
      const l = live.get(jobId);
      const job = l?.job ?? (await store.get(jobId));
      if (!job) throw new UserFacingError('not_found', 'That job does not exist.');
      if (isFinal(job.status)) throw new UserFacingError('not_active', 'That job has already finished.');
      if (!by.force && job.requester.id !== by.id) throw new UserFacingError('forbidden', 'Only the person who asked for this video can cancel it.');
      const held = l ?? { job };
      const r = l ? await apply(l, { type: 'cancel', by: by.id }) : await machine.commit(held, { type: 'cancel', by: by.id }, { anyOwner: true });
      if (!r.ok) {
        throw new UserFacingError('not_active', r.reason === 'the video is already being delivered' ? 'That video is already being delivered.' : 'That job has already finished.');
      }
      // Cancelled here on behalf of another instance: tell the user from here.
      if (!l && r.notice) await tell(r.job, { kind: r.notice.kind, job: summary(r.job), text: r.notice.text });
      return r.job;
    },

    get: async (id: string): Promise<JobRecord | undefined> => live.get(id)?.job ?? store.get(id),
    /**
     * The last frame (JPEG bytes, at the video's size) of a video this bot delivered as a file, kept
     * for FRAME_RETENTION_DAYS; undefined when there is none (no ffmpeg, delivered as a link, too old,
     * or not grabbed yet: the grab runs just after delivery, after any encode under way). With
     * `waitMs`, a grab under way in this process for the job is waited for, up to that long.
     */
    async lastFrame(jobId: string, opts: { waitMs?: number } = {}): Promise<Uint8Array | undefined> {
      const grab = r.media.grabbing(jobId);
      if (grab && opts.waitMs) {
        let cancel: () => void = () => {};
        await Promise.race([grab, new Promise<void>((done) => (cancel = clock.setTimer(done, opts.waitMs!)))]);
        cancel();
      }
      return files.frame(jobId);
    },
    /** Whether over-limit videos are re-encoded and last frames kept (video tools were found). */
    hasVideoTools: () => deps.videoTools !== undefined,
    /** One person's most recent jobs on a surface, newest first. */
    recent: (surface: string, requesterId: string, limit = 5): Promise<JobRecord[]> => store.recent({ surface, requesterId, limit }),
    activeCount: () => live.size,
    /** This instance's jobs by active status and the queue's length, for gauges read when scraped. */
    jobCounts: (): JobCounts => r.counts(),
    queuePosition: (id: string) => queue.position(id),

    /**
     * Starts the lease heartbeat and, unless `resume: false`, cleans up files left by a crash,
     * resumes unfinished jobs now and keeps taking over jobs whose owner dies later.
     */
    start: (opts: { resume?: boolean } = {}): Promise<number> => r.start(opts.resume !== false),

    /** Stops timers and lets work under way finish (up to `graceMs`); jobs stay in the store for the next start. */
    stop: (opts: { graceMs?: number } = {}): Promise<void> => r.stop(opts.graceMs ?? 20_000),
  };
}

export type JobService = ReturnType<typeof createJobService>;

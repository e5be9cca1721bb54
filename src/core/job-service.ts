/**
 * The generation core, for every surface: admits, queues, submits, polls,
 * reports progress and delivers. Its parts return outcomes (submit-step,
 * job-polling, delivery); `apply` hands each one to the job machine, which
 * writes it durably against the lifecycle table, and then does what the new
 * status calls for. All state is in the job store, so a restart (or another
 * instance) picks up exactly where this one stopped.
 */
import { randomUUID } from 'node:crypto';
import type { Place } from './admission.js';
import { admissionLimits, reachedLimit, refusal } from './admission.js';
import type { AdmissionConfig } from './admission.js';
import type { Catalogue } from './catalogue.js';
import { PROVIDER_LABELS } from './catalogue.js';
import type { Clock } from './clock.js';
import { UserFacingError } from './errors.js';
import type { PollPolicy, RenderStats } from './eta.js';
import { estimate, nextPollDelayMs, observe, priorEstimate, statsKey } from './eta.js';
import { createDelivery } from './delivery.js';
import type { InstanceIdentity } from './instance.js';
import { currentIdentity } from './instance.js';
import type { JobRecord } from './job.js';
import { isFinal, utcDay } from './job.js';
import { createJobFiles } from './job-files.js';
import type { Commit } from './job-machine.js';
import { StoppedError, createJobMachine } from './job-machine.js';
import { createPoller } from './job-polling.js';
import type { PollOutcome } from './job-polling.js';
import { createProgressReporter } from './job-progress.js';
import { createJobQueue } from './job-queue.js';
import type { JobStore } from './job-store.js';
import { summarize } from './job-summary.js';
import type { JobEvent, Notice } from './lifecycle.js';
import type { Live } from './live-job.js';
import { newLive } from './live-job.js';
import type { Logger } from './logger.js';
import { createOwnership } from './ownership.js';
import type { ChatSurface, ProviderCallContext, SurfaceMessage, VideoFetcher, VideoProvider } from './ports.js';
import { SurfaceGoneError } from './ports.js';
import { createEditBudget, progressView, viewKey } from './progress.js';
import type { GenerationInput, RequestValidator } from './request.js';
import { STORE_RETRY } from './retry-policy.js';
import { createScheduler } from './scheduler.js';
import { createLimiter, createSubmitStep } from './submit-step.js';

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

const STORE_DOWN = "The bot couldn't save your request just now, so nothing was started. Try again in a minute.";

export function createJobService(deps: JobServiceDeps) {
  const { store, clock, config } = deps;
  const log = deps.logger;
  const identity = deps.identity ?? currentIdentity();
  const self = identity.id;
  const surfaces = new Map(deps.surfaces.map((s) => [s.kind, s]));
  const budgets = new Map(deps.surfaces.map((s) => [s.kind, createEditBudget(s.maxEditsPerSecond ?? Infinity, Math.max(1, s.maxEditsPerSecond ?? 1) * 2, () => clock.now())]));
  const live = new Map<string, Live>();
  const listeners = new Set<(e: JobEventNotice) => void>();
  const pausedUntil = new Map<string, number>();
  const inFlightSubmits = new Set<Promise<void>>();
  /** Work of steps that continues outside the scheduler's slots (see `step`). */
  const background = new Set<Promise<unknown>>();
  const label = (provider: string) => PROVIDER_LABELS[provider] ?? provider;
  const surfaceOf = (job: JobRecord) => surfaces.get(job.surface);
  const summary = (job: JobRecord) => summarize(job, deps.catalogue);
  const ctx = (job: JobRecord): ProviderCallContext => ({ jobId: job.id, workDir: config.workDir });
  const renderElapsed = (job: JobRecord) => clock.now() - (job.submittedAt ?? job.createdAt);
  const emit = (e: JobEventNotice) => {
    for (const l of listeners) l(e);
  };
  let stopped = false;
  let sweep = true;
  let leaseTimer: (() => void) | undefined;
  let beats = 0;

  const files = createJobFiles({ workDir: config.workDir, videosCapBytes: config.videosCapBytes, logger: log });
  const machine = createJobMachine({ store, clock, logger: log, self, providerLabel: (job) => label(job.provider), storeRetry: STORE_RETRY });
  const ownership = createOwnership({ store, clock, logger: log, identity, leaseMs: config.leaseMs, surfaces: [...surfaces.keys()] });
  const queue = createJobQueue<Live>({ maxInFlight: config.maxInFlight, maxPerUser: config.maxPerUser });
  /** Deliveries under way at once (downloads and uploads). */
  const deliveries = createLimiter(config.deliveryConcurrency ?? 16);
  const submitStep = createSubmitStep({ providers: deps.providers, catalogue: deps.catalogue, files, providerLabel: label, now: () => clock.now(), ctx, inlineLimit: config.inlineSubmits ?? 4 });
  const poller = createPoller({ clock, logger: log, config, providers: deps.providers, ctx, renderElapsed, pausedUntil });
  const delivery = createDelivery({ clock, logger: log, fetcher: deps.fetcher, files, config, surfaceOf, summary });
  const scheduler = createScheduler({
    clock,
    concurrency: config.pollConcurrency,
    run: (key) => (key === '__pump' ? pump() : key === '__queue' ? refreshQueue() : step(key)),
    onError: (key, err) => log.error({ err, jobId: key }, 'scheduled step failed'),
  });
  const reporter = createProgressReporter({
    clock,
    logger: log,
    surfaceOf,
    budgets,
    summary,
    queuePosition: (id) => queue.position(id),
    renderElapsed,
    gone: (l, ref) => void apply(l, { type: 'progress_gone', ref }).catch(() => undefined),
    wake,
  });

  // ---------- scheduling ----------

  /** Runs the job's step at `at`, unless it is already due sooner. */
  function wake(l: Live, at: number) {
    if (!live.has(l.job.id)) return;
    const due = scheduler.dueAt(l.job.id);
    if (due === undefined || at < due) scheduler.schedule(l.job.id, at);
  }

  function planPoll(l: Live, minDelay = 0) {
    const delay = l.estimate ? nextPollDelayMs(l.estimate, renderElapsed(l.job), config.pollPolicy) : config.pollPolicy.maxIntervalMs;
    l.nextPollAt = Math.max(clock.now() + Math.max(delay, minDelay), pausedUntil.get(l.job.provider) ?? 0);
    wake(l, l.nextPollAt);
  }

  const schedulePump = () => scheduler.schedule('__pump', clock.now());

  let queueRefreshAt: number | undefined;
  /** Queue positions moved: refresh queued jobs' messages, at most once per progress interval. */
  function queueChanged() {
    if (queueRefreshAt !== undefined || !queue.waiting) return;
    const every = Math.min(...deps.surfaces.map((s) => s.progressIntervalMs));
    queueRefreshAt = clock.now() + every;
    scheduler.schedule('__queue', queueRefreshAt);
  }
  async function refreshQueue() {
    queueRefreshAt = undefined;
    let n = 0;
    for (const l of queue.queued()) {
      reporter.show(l);
      // A long queue is walked in slices, so other work (and timers) get their turn.
      if (++n % 256 === 0) await new Promise((r) => setImmediate(r));
    }
  }

  /** Learned render times, read from the store once per key and written through. */
  const stats = new Map<string, Promise<RenderStats | undefined>>();
  const statsOf = (key: string) => {
    let s = stats.get(key);
    if (!s) {
      s = store.getStats(key).catch(() => {
        stats.delete(key);
        return undefined;
      });
      stats.set(key, s);
    }
    return s;
  };

  async function loadEstimate(job: JobRecord) {
    const spec = deps.catalogue.byId(job.request.modelId);
    if (!spec) return undefined;
    return estimate(priorEstimate(spec, job.request.resolution, job.request.duration), await statsOf(statsKey(spec.id, job.request.resolution, job.request.duration)));
  }

  async function learn(job: JobRecord) {
    if (!job.submittedAt || !job.completedAt) return;
    const key = statsKey(job.request.modelId, job.request.resolution, job.request.duration);
    const next = observe(await statsOf(key), (job.completedAt - job.submittedAt) / 1000);
    stats.set(key, Promise.resolve(next));
    await store.putStats(key, next).catch((err: unknown) => log.warn({ jobId: job.id, err }, 'could not record the render time'));
  }

  // ---------- applying outcomes ----------

  /** Commits an event, then does what the job's new status calls for. */
  async function apply(l: Live, event: JobEvent): Promise<Commit> {
    const r = await machine.commit(l, event);
    if (!r.ok) {
      if (r.lost) await end(l, undefined);
      return r;
    }
    if (!l.held) queue.track(l);
    const status = l.job.status;
    if (r.prev !== status) emit({ type: 'status', job: l.job });
    if (isFinal(status)) {
      await end(l, r.notice);
      return r;
    }
    if (status === 'queued' && r.prev !== 'queued') {
      queueChanged();
      schedulePump();
    } else if (status === 'running' && r.prev !== 'running') {
      l.estimate = await loadEstimate(l.job);
      planPoll(l);
    } else if (status === 'completed' && r.prev !== 'completed') {
      void learn(l.job);
      wake(l, clock.now());
    }
    reporter.show(l, r.prev !== status);
    return r;
  }

  /** The job has ended (or is no longer ours): tell the user, clean up, let the next one in. */
  async function end(l: Live, notice: Notice | undefined) {
    const job = l.job;
    if (!live.has(job.id)) return;
    live.delete(job.id);
    scheduler.cancel(job.id);
    queue.forget(l);
    await reporter.close(l);
    if (isFinal(job.status)) {
      log.info({ jobId: job.id, status: job.status, code: job.error?.code }, 'job ended');
      if (notice) await tell(job, { kind: notice.kind, job: summary(job), text: notice.text });
      await files.removeJobFiles(job).catch((err: unknown) => log.warn({ jobId: job.id, err }, 'could not delete the job files'));
      emit({ type: 'finished', job });
    }
    queueChanged();
    schedulePump();
  }

  /** Shows a final message: in place of the progress message if there is one, else as a new post. */
  async function tell(job: JobRecord, message: SurfaceMessage) {
    const surface = surfaceOf(job);
    if (!surface) return;
    try {
      if (job.progressMessage) {
        try {
          await surface.edit(job.progressMessage, message);
          return;
        } catch (err) {
          if (!(err instanceof SurfaceGoneError)) throw err;
        }
      }
      await surface.post(job.conversation, message);
    } catch (err) {
      log.warn({ jobId: job.id, err }, 'could not tell the user how the job ended');
    }
  }

  // ---------- the steps ----------

  async function pump(): Promise<void> {
    if (stopped) return;
    // Create requests under way at once are capped too: a burst of arrivals goes out in a
    // steady stream instead of thousands of requests (and their answers) at the same moment.
    const { items, wakeAt } = queue.take(clock.now(), (config.submitConcurrency ?? 16) - inFlightSubmits.size);
    for (const l of items) {
      const p = submit(l).finally(() => inFlightSubmits.delete(p));
      inFlightSubmits.add(p);
    }
    if (wakeAt !== undefined) scheduler.schedule('__pump', wakeAt);
    if (items.length) queueChanged();
  }

  async function submit(l: Live): Promise<void> {
    l.submitting = true;
    try {
      const begun = await apply(l, { type: 'submit_begin' });
      if (!begun.ok) return;
      const out = await submitStep(l.job);
      const r = await apply(l, out.event);
      if (!r.ok) {
        // Whatever happened meanwhile, the operator should be able to find a job the provider has.
        if (out.event.type === 'submit_ok') log.warn({ jobId: l.job.id, operation: out.event.operation.id, status: r.job.status }, 'the provider accepted a job that had meanwhile ended here');
        return;
      }
      if (out.event.type === 'submit_ok') log.info({ jobId: l.job.id, provider: l.job.provider, operation: out.event.operation.id }, 'submitted');
      if (out.status && l.job.status === 'running') await afterPoll(l, poller.outcome(l, out.status));
    } catch (err) {
      if (!(err instanceof StoppedError)) log.error({ jobId: l.job.id, err }, 'submit step failed');
    } finally {
      l.submitting = false;
      schedulePump();
    }
  }

  async function afterPoll(l: Live, o: PollOutcome) {
    if (o.event?.type === 'provider_status') {
      // Shown at once, stored with the next transition: a status word needs no write of its own.
      machine.note(l, { providerStatus: o.event.providerStatus });
      reporter.show(l, true);
    } else if (o.event) {
      const r = await apply(l, o.event);
      if (!r.ok) return;
    }
    if (l.job.status === 'running') planPoll(l, o.waitMs ?? 0);
  }

  async function deliver(l: Live) {
    // At most: record an attempt, then make it.
    for (let i = 0; i < 2; i++) {
      const event = await delivery.step(l);
      const r = await apply(l, event);
      if (!r.ok) return;
      if (event.type === 'delivery_attempt') {
        l.attemptRecorded = true;
        continue;
      }
      if (event.type === 'delivery_wait') wake(l, event.at);
      return;
    }
  }

  /**
   * One wake-up of a job. Only the status request itself holds one of the scheduler's slots
   * (POLL_CONCURRENCY bounds what we ask of the provider); what follows it (writing the
   * result, delivering) runs outside them, so a slow store or platform never holds up other
   * jobs' status checks.
   */
  async function step(id: string): Promise<void> {
    const l = live.get(id);
    if (!l || stopped) return;
    if (l.busy) {
      l.rerun = true;
      return;
    }
    l.busy = true;
    let rest: Promise<unknown> | undefined;
    try {
      const s = l.job.status;
      if (s === 'submitting' && !l.submitting) {
        // Found mid-submit after a restart or takeover: the request may have gone out.
        const at = new Date(l.job.updatedAt).toISOString().slice(11, 16);
        rest = apply(l, {
          type: 'submit_interrupted',
          text: `The bot restarted while sending this job to ${label(l.job.provider)}, so we can't tell whether it started. It was not sent again, to avoid paying twice; it may have been charged. The bot's operator can look for a generation started at ${at} UTC in the ${label(l.job.provider)} dashboard.`,
        });
      } else if (s === 'running') {
        if (l.nextPollAt !== undefined && l.nextPollAt <= clock.now()) {
          l.nextPollAt = undefined;
          const outcome = await poller.poll(l);
          rest = afterPoll(l, outcome);
        }
      } else if (s === 'completed' || s === 'delivering') {
        if (l.job.retryAt === undefined || l.job.retryAt <= clock.now()) rest = deliveries(() => deliver(l));
      }
    } catch (err) {
      failed(l, err);
    }
    if (!rest) {
      // A wake-up for the progress message only (or nothing due yet).
      reporter.show(l);
      return settled(l);
    }
    const going = rest.catch((err: unknown) => failed(l, err)).finally(() => {
      background.delete(going);
      settled(l);
    });
    background.add(going);
  }

  function failed(l: Live, err: unknown) {
    if (err instanceof StoppedError) return;
    log.error({ jobId: l.job.id, err }, 'job step failed; trying again shortly');
    wake(l, clock.now() + 5000);
  }

  /** A step of `l` is over: run again or plan the next wake-up. */
  function settled(l: Live) {
    const id = l.job.id;
    l.busy = false;
    if (!live.has(id)) return;
    if (l.rerun) {
      l.rerun = false;
      scheduler.schedule(id, clock.now());
    } else replan(l);
  }

  /** Makes sure the job wakes for whatever it waits on next. */
  function replan(l: Live) {
    const s = l.job.status;
    if (s === 'running') {
      if (l.nextPollAt === undefined) planPoll(l);
      else wake(l, l.nextPollAt);
    } else if ((s === 'completed' || s === 'delivering') && l.job.retryAt !== undefined) wake(l, l.job.retryAt);
  }

  // ---------- ownership ----------

  function track(job: JobRecord): Live {
    const l = newLive(job);
    live.set(job.id, l);
    return l;
  }

  async function heartbeat() {
    if (stopped) return;
    await ownership.renew();
    leaseTimer = clock.setTimer(() => void heartbeat(), config.leaseMs / 3);
    if (sweep && ++beats % 3 === 0 && ownership.leasesTrustworthy()) await resume();
  }

  /** Takes over every unfinished job of our surfaces whose owner is gone, and carries on. */
  async function resume(): Promise<number> {
    let claimed: JobRecord[];
    try {
      claimed = await ownership.claim();
    } catch (err) {
      log.warn({ err }, 'could not look for jobs to take over; trying again at the next heartbeat');
      return 0;
    }
    for (const job of claimed) {
      if (live.has(job.id)) continue;
      const l = track(job);
      log.info({ jobId: job.id, status: job.status }, 'resuming job');
      if (job.unannounced) {
        // Admitted just before a crash and never shown to anyone: the user saw nothing (or a
        // "Starting…" that was never confirmed) and has likely asked again. Nothing was submitted.
        await apply(l, { type: 'unannounced' });
        continue;
      }
      queue.track(l);
      if (job.status === 'running') {
        l.estimate = await loadEstimate(job);
        l.nextPollAt = clock.now();
      }
      wake(l, clock.now());
    }
    if (claimed.length) {
      queueChanged();
      schedulePump();
    }
    return claimed.length;
  }

  // ---------- use cases ----------

  return {
    instanceId: self,
    validate: (input: GenerationInput) => deps.validator.parse(input),
    onEvent(listener: (e: JobEventNotice) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    /** Throws the refusal if this person has already reached a limit (a quick check; `submit` decides atomically). */
    async checkAdmission(s: { surface: string; requesterId: string; place?: Place }): Promise<void> {
      const limits = admissionLimits(config, s.place);
      const usage = await store.usage({ surface: s.surface, requesterId: s.requesterId, ...(s.place ? { place: s.place.key } : {}), day: utcDay(clock.now()) }).catch((err: unknown) => {
        log.error({ err }, 'could not read usage');
        throw new UserFacingError('store_unavailable', STORE_DOWN);
      });
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
    activeCount: () => live.size,
    queuePosition: (id: string) => queue.position(id),

    /**
     * Starts the lease heartbeat and, unless `resume: false`, cleans up files left by a crash,
     * resumes unfinished jobs now and keeps taking over jobs whose owner dies later.
     */
    async start(opts: { resume?: boolean } = {}): Promise<number> {
      sweep = opts.resume !== false;
      if (sweep) {
        await files
          .sweep(async (jobId) => {
            const job = await store.get(jobId);
            return Boolean(job && !isFinal(job.status));
          })
          .catch((err: unknown) => log.warn({ err }, 'could not clean up leftover files'));
      }
      await heartbeat();
      return sweep ? resume() : 0;
    },

    /** Stops timers and lets in-flight submits finish (up to `graceMs`); jobs stay in the store for the next start. */
    async stop(opts: { graceMs?: number } = {}): Promise<void> {
      stopped = true;
      scheduler.stop();
      leaseTimer?.();
      const done = Promise.all([scheduler.idle(), ...inFlightSubmits, ...background, ...[...live.values()].map((l) => l.progress.sending)]);
      let cancelTimer: () => void = () => {};
      const grace = new Promise<void>((r) => {
        cancelTimer = clock.setTimer(r, opts.graceMs ?? 20_000);
      });
      await Promise.race([done, grace]);
      cancelTimer();
      machine.stop();
      await ownership.release();
    },
  };
}

export type JobService = ReturnType<typeof createJobService>;

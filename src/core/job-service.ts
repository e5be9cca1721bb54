/**
 * The generation core: validates, queues, submits, polls, reports progress and
 * delivers, for every surface, with all state in the job store so a restart
 * picks up exactly where the last process stopped.
 */
import { randomUUID } from 'node:crypto';
import { newInstanceId, ownerAlive as defaultOwnerAlive, ownerGone } from './instance.js';
import type { Catalogue } from './catalogue.js';
import { PROVIDER_LABELS } from './catalogue.js';
import type { Clock } from './clock.js';
import { ProviderError, RateLimitError, UserFacingError, userMessageFor } from './errors.js';
import type { RenderEstimate, PollPolicy } from './eta.js';
import { estimate, nextPollDelayMs, priorEstimate, statsKey } from './eta.js';
import type { JobRecord, JobStatus } from './job.js';
import { isFinal } from './job.js';
import type { JobStore } from './job-store.js';
import type { Logger } from './logger.js';
import type { ChatSurface, ProviderCallContext, SurfaceMessage, VideoFetcher, VideoProvider } from './ports.js';
import { SurfaceGoneError } from './ports.js';
import { createEditBudget, progressView, viewKey } from './progress.js';
import { createProgressReporter } from './job-progress.js';
import { summarize } from './job-summary.js';
import type { Live } from './live-job.js';
import type { GenerationInput, RequestValidator } from './request.js';
import type { Scheduler } from './scheduler.js';
import { createScheduler } from './scheduler.js';
import { createDelivery } from './delivery.js';
import { createPoller } from './job-polling.js';

export interface JobServiceConfig {
  /** Jobs one user may have at the provider at once. */
  maxPerUser: number;
  /** Further jobs one user may have waiting in our queue. */
  maxQueuedPerUser: number;
  /** Jobs at the provider at once, across everyone. */
  maxInFlight: number;
  /** Give up on a job this long after submit. */
  maxAgeMs: number;
  maxVideoBytes: number;
  leaseMs: number;
  pollPolicy: PollPolicy;
  /** Status requests in flight at once. */
  pollConcurrency: number;
  workDir: string;
  /** How long an unknown provider status word is tolerated before the job fails. */
  unknownStatusGraceMs: number;
  maxSubmitAttempts: number;
  maxDeliveryAttempts: number;
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
  /** Unique per process start; defaults to host/pid/random. */
  instanceId?: string;
  /** Whether another instance is alive; undefined = ask its lease. Defaults to a same-host pid check. */
  ownerAlive?: (owner: string, self: string) => boolean | undefined;
}

export interface SubmitInput {
  input: GenerationInput;
  surface: string;
  conversation: string;
  requester: { id: string; name?: string };
  meta?: Record<string, string>;
  /** A message the surface already posted and wants edited with progress. */
  progressMessage?: string;
}

export interface SubmitResult {
  job: JobRecord;
  /** Position in our queue (1-based) when the job has to wait. */
  queuePosition?: number;
  /** The requester's other unfinished jobs. */
  othersActive: number;
}

export type JobEvent = { type: 'status'; job: JobRecord } | { type: 'finished'; job: JobRecord };


export function createJobService(deps: JobServiceDeps) {
  const { store, clock, config } = deps;
  const log = deps.logger;
  const instanceId = deps.instanceId ?? newInstanceId();
  const ownerAlive = deps.ownerAlive ?? defaultOwnerAlive;
  const surfaces = new Map(deps.surfaces.map((s) => [s.kind, s]));
  const budgets = new Map(deps.surfaces.map((s) => [s.kind, createEditBudget(s.maxEditsPerSecond ?? Infinity, Math.max(1, s.maxEditsPerSecond ?? 1) * 2, () => clock.now())]));
  const live = new Map<string, Live>();
  const listeners = new Set<(e: JobEvent) => void>();
  const providerPausedUntil = new Map<string, number>();
  let leaseCancel: (() => void) | undefined;
  let beats = 0;
  /** Whether this instance takes over orphaned jobs (a one-shot CLI run does not). */
  let sweep = true;
  const submitting = new Set<Promise<void>>();
  let stopped = false;

  const scheduler: Scheduler = createScheduler({
    clock,
    concurrency: config.pollConcurrency,
    run: (key) => (key === '__pump' ? pump() : step(key)),
    onError: (key, err) => log.error({ err, jobId: key }, 'scheduled step failed'),
  });

  const surfaceOf = (job: JobRecord) => surfaces.get(job.surface);
  const emit = (e: JobEvent) => {
    for (const l of listeners) l(e);
  };
  const backoff = (n: number, cap = 30_000) => Math.min(cap, 500 * 2 ** Math.min(n, 10)) * (0.75 + Math.random() * 0.5);

  const summary = (job: JobRecord) => summarize(job, deps.catalogue);

  async function save(l: Live, patch: Partial<JobRecord>) {
    const prev = l.job.status;
    Object.assign(l.job, patch, { updatedAt: clock.now() });
    if (isFinal(l.job.status)) await store.finish(l.job);
    else await store.update(l.job);
    if (prev !== l.job.status) emit({ type: 'status', job: l.job });
  }

  // ---------- queue ----------

  const inFlight = () => [...live.values()].filter((l) => l.job.status === 'submitting' || l.job.status === 'running');
  const queued = () =>
    [...live.values()].filter((l) => l.job.status === 'queued').sort((a, b) => a.job.createdAt - b.job.createdAt);

  /** Queue positions, recomputed when the queue changes (not once per job shown). */
  let positions = new Map<string, number>();
  function refreshPositions() {
    positions = new Map(queued().map((l, i) => [l.job.id, i + 1]));
  }
  const queuePosition = (id: string): number | undefined => positions.get(id);

  async function pump(): Promise<void> {
    if (stopped) return;
    const flying = inFlight();
    const perUser = new Map<string, number>();
    for (const l of flying) perUser.set(userKey(l.job), (perUser.get(userKey(l.job)) ?? 0) + 1);
    let slots = config.maxInFlight - flying.length;
    const now = clock.now();
    let wakeAt = Infinity;
    for (const l of queued()) {
      if (slots <= 0) break;
      if (l.notBefore && l.notBefore > now) {
        wakeAt = Math.min(wakeAt, l.notBefore);
        continue;
      }
      const u = userKey(l.job);
      if ((perUser.get(u) ?? 0) >= config.maxPerUser) continue;
      perUser.set(u, (perUser.get(u) ?? 0) + 1);
      slots--;
      l.job.status = 'submitting';
      const p = submitNow(l).finally(() => submitting.delete(p));
      submitting.add(p);
    }
    if (wakeAt !== Infinity) scheduler.schedule('__pump', wakeAt);
    refreshPositions();
    for (const l of queued()) void progress(l);
  }
  const userKey = (job: JobRecord) => `${job.surface}:${job.requester.id}`;

  async function submitNow(l: Live): Promise<void> {
    const job = l.job;
    const provider = deps.providers[job.provider];
    const spec = deps.catalogue.byId(job.request.modelId);
    if (!provider || !spec) {
      await fail(l, 'provider_unavailable', `This bot can no longer use ${job.request.modelId}; nothing was submitted.`);
      return;
    }
    await save(l, { status: 'submitting', attempts: { ...job.attempts, submit: job.attempts.submit + 1 }, owner: instanceId });
    void progress(l, true);
    let started: Awaited<ReturnType<VideoProvider['start']>>;
    try {
      started = await provider.start({ ...job.request, model: spec }, ctx(job));
    } catch (err) {
      const retry = err instanceof ProviderError && err.notCreated && err.retryable && job.attempts.submit < config.maxSubmitAttempts;
      if (retry) {
        const wait = Math.max(backoff(job.attempts.submit), err instanceof RateLimitError ? (err.retryAfterMs ?? 0) : 0);
        log.warn({ jobId: job.id, err, wait }, 'submit refused before a job was created; will retry');
        l.notBefore = clock.now() + wait;
        await save(l, { status: 'queued' });
      } else {
        log.warn({ jobId: job.id, err }, 'submit failed');
        await fail(l, err instanceof ProviderError ? err.code : 'submit_failed', userMessageFor(err));
      }
      schedulePump();
      return;
    }
    // From here a paid job exists: nothing below may turn it into a failed submit.
    const { operation, status } = started;
    // Inline images are only needed to submit; don't keep megabytes of base64 in the store.
    const request = { ...job.request };
    if (request.image?.url.startsWith('data:')) request.image = { ...request.image, url: 'data:(sent)' };
    if (request.lastFrame?.url.startsWith('data:')) request.lastFrame = { ...request.lastFrame, url: 'data:(sent)' };
    try {
      await save(l, { status: 'running', operation, request, submittedAt: clock.now() });
    } catch (err) {
      // Kept in memory and written with the next change; the job goes on.
      log.error({ jobId: job.id, err, operation: operation.id }, 'could not record the submitted job');
    }
    log.info({ jobId: job.id, provider: job.provider, operation: operation.id }, 'submitted');
    l.estimate = await loadEstimate(job).catch(() => undefined);
    if (status) await handleStatus(l, status);
    else planPoll(l);
    schedulePump();
  }

  function schedulePump() {
    scheduler.schedule('__pump', clock.now());
  }

  function ctx(job: JobRecord): ProviderCallContext {
    return { jobId: job.id, workDir: config.workDir };
  }

  async function loadEstimate(job: JobRecord): Promise<RenderEstimate | undefined> {
    const spec = deps.catalogue.byId(job.request.modelId);
    if (!spec) return undefined;
    const prior = priorEstimate(spec, job.request.resolution, job.request.duration);
    const stats = await store.getStats(statsKey(spec.id, job.request.resolution, job.request.duration));
    return estimate(prior, stats);
  }

  // ---------- polling ----------

  function renderElapsed(job: JobRecord) {
    return clock.now() - (job.submittedAt ?? job.createdAt);
  }

  function planPoll(l: Live, minDelay = 0) {
    const delay = l.estimate ? nextPollDelayMs(l.estimate, renderElapsed(l.job), config.pollPolicy) : config.pollPolicy.maxIntervalMs;
    const paused = providerPausedUntil.get(l.job.provider) ?? 0;
    l.nextPollAt = Math.max(clock.now() + Math.max(delay, minDelay), paused);
    wake(l);
  }

  /** Schedules the job's next wake-up: its poll or its next progress edit, whichever is first. */
  function wake(l: Live, progressAt?: number) {
    const at = Math.min(l.nextPollAt ?? Infinity, progressAt ?? Infinity);
    if (at !== Infinity) scheduler.schedule(l.job.id, at);
  }

  async function step(id: string): Promise<void> {
    const l = live.get(id);
    if (!l || stopped) return;
    if (l.busy) {
      l.rerun = true;
      return;
    }
    l.busy = true;
    try {
      const s = l.job.status;
      if (s === 'running') {
        if (l.nextPollAt !== undefined && l.nextPollAt <= clock.now()) await poll(l);
        else await progress(l);
      } else if (s === 'completed' || s === 'delivering') {
        await delivery.deliver(l);
      } else if (s === 'queued' || s === 'submitting') {
        await progress(l);
      }
    } finally {
      l.busy = false;
      if (l.rerun) {
        l.rerun = false;
        scheduler.schedule(id, clock.now());
      } else if (live.has(id) && l.job.status === 'running' && scheduler.dueAt(id) === undefined) {
        // A step that only refreshed progress must not lose the job's next poll.
        wake(l);
      }
    }
  }

  const poller = createPoller({
    clock,
    logger: log,
    config,
    providers: deps.providers,
    store,
    ctx,
    renderElapsed,
    planPoll,
    backoff,
    pauseProvider: (provider, until) => providerPausedUntil.set(provider, Math.max(providerPausedUntil.get(provider) ?? 0, until)),
    save,
    fail: (l, code, text) => fail(l, code, text),
    timeOut: (l, text) => finishAs(l, 'timed_out', 'timeout', text),
    progress: (l) => progress(l),
    deliver: (l) => delivery.deliver(l),
  });
  const { poll, handleStatus } = poller;

  const reporter = createProgressReporter({
    clock,
    logger: log,
    surfaceOf,
    budgets,
    summary,
    save,
    wake,
    queuePosition,
    renderElapsed,
  });
  const progress = reporter.progress;

  // ---------- endings ----------

  async function finishAs(l: Live, status: JobStatus, code: string, text: string) {
    const job = l.job;
    scheduler.cancel(job.id);
    await save(l, { status, error: { code, message: text }, finishedAt: clock.now() });
    live.delete(job.id);
    log.info({ jobId: job.id, status, code }, 'job ended');
    await l.editing;
    await tell(job, { kind: status === 'cancelled' ? 'cancelled' : 'failed', job: summary(job), text });
    emit({ type: 'finished', job });
    schedulePump();
  }

  const fail = (l: Live, code: string, text: string) => finishAs(l, 'failed', code, text);

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

  async function delivered(l: Live) {
    scheduler.cancel(l.job.id);
    live.delete(l.job.id);
    emit({ type: 'finished', job: l.job });
    schedulePump();
  }

  const delivery = createDelivery({
    clock,
    logger: log,
    fetcher: deps.fetcher,
    config,
    surfaceOf,
    summary,
    save,
    fail,
    delivered,
    retryLater: (l: Live, ms: number) => scheduler.schedule(l.job.id, clock.now() + ms),
    progress: (l: Live) => progress(l, true),
    backoff,
  });

  function admission(surface: string, requesterId: string) {
    const mine = [...live.values()].filter((l) => l.job.surface === surface && l.job.requester.id === requesterId);
    const running = mine.filter((l) => l.job.status !== 'queued').length;
    const waiting = mine.length - running;
    if (mine.length >= config.maxPerUser + config.maxQueuedPerUser) {
      const parts = [`You have ${running} job${running === 1 ? '' : 's'} running`];
      if (waiting) parts.push(`${waiting} waiting`);
      throw new UserFacingError('too_many_jobs', `${parts.join(' and ')}. Wait for one to finish, then try again.`);
    }
    return { mine, running };
  }

  // ---------- lifecycle ----------

  function track(job: JobRecord): Live {
    const l: Live = { job, pollErrors: 0, lastSentAt: 0, busy: false, rerun: false };
    live.set(job.id, l);
    return l;
  }

  async function heartbeat() {
    if (stopped) return;
    try {
      await store.putLease(instanceId, clock.now() + config.leaseMs);
    } catch (err) {
      log.warn({ err }, 'lease heartbeat failed');
    }
    leaseCancel = clock.setTimer(() => void heartbeat(), config.leaseMs / 3);
    // Pick up jobs whose owner died since the last look (another instance, or a crashed CLI run).
    if (sweep && ++beats % 3 === 0 && !stopped) await resume().catch((err: unknown) => log.warn({ err }, 'orphan sweep failed'));
  }

  /** Takes over every unfinished job of our surfaces whose owner is gone, and carries on. */
  async function resume(): Promise<number> {
    let n = 0;
    for (const kind of surfaces.keys()) {
      for (const id of await store.activeIds(kind)) {
        if (live.has(id)) continue;
        const job = await store.get(id);
        if (!job || isFinal(job.status)) continue;
        if (!(await ownerGone(job.owner, instanceId, { alive: ownerAlive, leaseOf: (o) => store.getLease(o), now: clock.now() }))) continue;
        const l = track(job);
        n++;
        log.info({ jobId: id, status: job.status }, 'resuming job');
        if (job.status === 'submitting') {
          const name = PROVIDER_LABELS[job.provider] ?? job.provider;
          await fail(l, 'submit_interrupted', `The bot restarted while sending this job to ${name}, so we can't tell whether it started. It was not sent again, to avoid paying twice.`);
          continue;
        }
        await save(l, { owner: instanceId });
        if (job.status === 'running') {
          l.estimate = await loadEstimate(job);
          l.nextPollAt = clock.now();
          wake(l);
        } else if (job.status === 'completed' || job.status === 'delivering') {
          scheduler.schedule(id, clock.now());
        }
      }
    }
    schedulePump();
    return n;
  }

  return {
    instanceId,
    validate: (input: GenerationInput) => deps.validator.parse(input),
    onEvent(listener: (e: JobEvent) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    /** Throws the "you have N jobs running" error if this person can't start another job now. */
    checkAdmission(surface: string, requesterId: string): void {
      admission(surface, requesterId);
    },

    /** Validates, enforces limits, persists and queues a job. Throws UserFacingError for the user. */
    async submit(s: SubmitInput): Promise<SubmitResult> {
      if (!surfaces.has(s.surface)) throw new Error(`unknown surface ${s.surface}`);
      const request = deps.validator.parse(s.input);
      const spec = deps.catalogue.byId(request.modelId)!;
      const { mine, running } = admission(s.surface, s.requester.id);
      const now = clock.now();
      const job: JobRecord = {
        id: randomUUID(),
        surface: s.surface,
        conversation: s.conversation,
        requester: s.requester,
        meta: s.meta ?? {},
        request,
        provider: spec.provider,
        status: 'queued',
        createdAt: now,
        updatedAt: now,
        attempts: { submit: 0, delivery: 0 },
        owner: instanceId,
        ...(s.progressMessage ? { progressMessage: s.progressMessage } : {}),
      };
      await store.create(job);
      const l = track(job);
      refreshPositions();
      const surface = surfaces.get(s.surface)!;
      if (!job.progressMessage) {
        try {
          const mustWait = inFlight().length >= config.maxInFlight || running >= config.maxPerUser || queued().length > 1;
          const view = progressView({
            jobId: job.id,
            phase: mustWait ? 'queued' : 'submitting',
            ...(mustWait ? { queuePosition: queuePosition(job.id) } : {}),
            elapsedMs: 0,
          });
          const ref = await surface.post(job.conversation, { kind: 'progress', job: summary(job), progress: view });
          l.lastKey = viewKey(view);
          l.lastSentAt = clock.now();
          await save(l, { progressMessage: ref });
        } catch (err) {
          log.warn({ jobId: job.id, err }, 'could not post a progress message; the job continues');
        }
      }
      log.info({ jobId: job.id, model: spec.id, surface: s.surface }, 'job queued');
      await pump();
      const stillQueued = l.job.status === 'queued';
      return { job: l.job, ...(stillQueued ? { queuePosition: queuePosition(job.id) } : {}), othersActive: mine.length };
    },

    /** Stops tracking a job. Queued jobs cost nothing; submitted ones may still be charged. */
    async cancel(jobId: string, by: { id: string; force?: boolean }): Promise<JobRecord> {
      const l = live.get(jobId);
      if (!l) {
        const job = await store.get(jobId);
        if (!job) throw new UserFacingError('not_found', 'That job does not exist.');
        throw new UserFacingError('not_active', 'That job has already finished.');
      }
      if (!by.force && l.job.requester.id !== by.id) throw new UserFacingError('forbidden', 'Only the person who asked for this video can cancel it.');
      if (l.job.status === 'completed' || l.job.status === 'delivering') throw new UserFacingError('not_active', 'That video is already being delivered.');
      const submitted = l.job.status !== 'queued';
      await finishAs(
        l,
        'cancelled',
        'cancelled',
        submitted ? 'Cancelled: the bot stopped tracking this job. The provider may still finish it and charge for it.' : 'Cancelled before it was submitted; nothing was charged.',
      );
      return l.job;
    },

    get: (id: string) => live.get(id)?.job ?? store.get(id),
    activeCount: () => live.size,
    queuePosition,

    /**
     * Starts the lease heartbeat and, unless `resume: false`, resumes unfinished jobs now
     * and keeps taking over jobs whose owner dies later.
     */
    async start(opts: { resume?: boolean } = {}): Promise<number> {
      sweep = opts.resume !== false;
      await heartbeat();
      return opts.resume === false ? 0 : resume();
    },

    /** Stops timers; jobs stay in the store for the next start. */
    async stop(): Promise<void> {
      stopped = true;
      scheduler.stop();
      leaseCancel?.();
      await scheduler.idle();
      await Promise.all([...submitting, ...[...live.values()].map((l) => l.editing)]);
      // Let another instance take over at once instead of waiting for the lease to lapse.
      await store.putLease(instanceId, 0).catch(() => undefined);
    },
  };
}

export type JobService = ReturnType<typeof createJobService>;

/**
 * The engine under the job service: the jobs this instance works on, the one
 * scheduler that wakes them, `apply` (commit an outcome through the job
 * machine, then do what the new status calls for), the end of a job, and
 * taking over jobs whose owner is gone. The steps themselves are in job-steps.ts,
 * the use cases in job-service.ts.
 */
import type { Catalogue } from './catalogue.js';
import type { ActiveStatus, CoreMetrics, JobCounts, JobOutcome } from './core-metrics.js';
import { NO_METRICS, meteredProviders, recordTransition } from './core-metrics.js';
import { providerLabel } from './errors.js';
import { nextPollDelayMs } from './eta.js';
import type { DeliveryMedia } from './delivery-media.js';
import { createDeliveryMedia } from './delivery-media.js';
import { currentIdentity } from './instance.js';
import type { JobRecord } from './job.js';
import { ACTIVE_STATUSES, isFinal } from './job.js';
import type { JobFiles } from './job-files.js';
import { DEFAULT_FRAME_RETENTION_MS, createJobFiles } from './job-files.js';
import type { Commit } from './job-machine.js';
import { createJobMachine } from './job-machine.js';
import { createProgressReporter } from './job-progress.js';
import { createJobQueue } from './job-queue.js';
import { DEFAULT_JOB_RETENTION_MS, createJobRetention } from './job-retention.js';
import { createPeriodic } from './periodic.js';
import type { JobEventNotice, JobServiceConfig, JobServiceDeps } from './job-service.js';
import { createJobSteps } from './job-steps.js';
import { summarize } from './job-summary.js';
import type { JobEvent, Notice } from './lifecycle.js';
import type { Live } from './live-job.js';
import { newLive } from './live-job.js';
import { createOwnership } from './ownership.js';
import type { ChatSurface, JobSummary, ProviderCallContext, SurfaceMessage, VideoFetcher, VideoProvider } from './ports.js';
import { SurfaceGoneError } from './ports.js';
import { createEditBudget } from './progress.js';
import { createRenderTimes } from './render-times.js';
import { STORE_RETRY } from './retry-policy.js';
import { createScheduler } from './scheduler.js';

/** What the steps need of the service's parts to talk to providers and surfaces. */
export interface JobFetcherDeps {
  providers: Readonly<Record<string, VideoProvider>>;
  catalogue: Catalogue;
  fetcher: VideoFetcher;
  files: JobFiles;
  /** Re-encoding to fit and last frames, when there are video tools. */
  media: DeliveryMedia;
  metrics: CoreMetrics;
  config: JobServiceConfig;
  ctx(job: JobRecord): ProviderCallContext;
  renderElapsed(job: JobRecord): number;
  pausedUntil: Map<string, number>;
  surfaceOf(job: JobRecord): ChatSurface | undefined;
  summary(job: JobRecord): JobSummary;
}

/** How often frames past FRAME_RETENTION_DAYS are looked for while running. */
const FRAME_SWEEP_EVERY_MS = 3_600_000;
/** Jobs that moved elsewhere, read again at once at a heartbeat. */
const RECHECK_BATCH = 32;

export function createJobRunner(deps: JobServiceDeps) {
  const { store, clock, config } = deps;
  const log = deps.logger;
  const metrics = deps.metrics ?? NO_METRICS;
  const identity = deps.identity ?? currentIdentity();
  const self = identity.id;
  const surfaces = new Map(deps.surfaces.map((s) => [s.kind, s]));
  const budgets = new Map(deps.surfaces.map((s) => [s.kind, createEditBudget(s.maxEditsPerSecond ?? Infinity, Math.max(1, s.maxEditsPerSecond ?? 1) * 2, () => clock.now())]));
  const live = new Map<string, Live>();
  const listeners = new Set<(e: JobEventNotice) => void>();
  const pausedUntil = new Map<string, number>();
  const label = providerLabel;
  const surfaceOf = (job: JobRecord) => surfaces.get(job.surface);
  const summary = (job: JobRecord) => summarize(job, deps.catalogue);
  const ctx = (job: JobRecord): ProviderCallContext => ({ jobId: job.id, workDir: config.workDir });
  const renderElapsed = (job: JobRecord) => clock.now() - (job.submittedAt ?? job.createdAt);
  const emit = (e: JobEventNotice) => {
    for (const l of listeners) l(e);
  };
  let stopped = false;
  let stopping: Promise<void> | undefined;
  /** Final messages on their way (waited for, within the grace, when stopping). */
  const finishing = new Set<Promise<void>>();
  let sweep = true;
  let leaseTimer: (() => void) | undefined;
  let beats = 0;
  /** The heartbeat's re-read of our jobs, while under way (true once every job was read). */
  let checking: Promise<boolean> | undefined;
  /**
   * Our lease may have lapsed: the store took no renewal for two thirds of it (before it can lapse,
   * with a third to spare for clocks that differ). No status checks until a renewal lands and our
   * jobs have been read again, so a job another instance took over meanwhile is never polled by both.
   */
  let fenced = false;
  function isFenced(): boolean {
    if (!fenced && !stopped && ownership.sinceRenewal() >= (2 * config.leaseMs) / 3) {
      fenced = true;
      log.warn({ sinceRenewalMs: ownership.sinceRenewal() }, 'the instance lease could not be renewed: status checks paused until the store answers');
    }
    return fenced;
  }

  const renderTimes = createRenderTimes({ store, catalogue: deps.catalogue, logger: log });
  const frameRetentionMs = config.frameRetentionMs ?? DEFAULT_FRAME_RETENTION_MS;
  const files = createJobFiles({ workDir: config.workDir, videosCapBytes: config.videosCapBytes, logger: log, frameRetentionMs, ...(deps.sharedFrames ? { sharedFrames: deps.sharedFrames } : {}) });
  const media = createDeliveryMedia({ ...(deps.videoTools ? { tools: deps.videoTools } : {}), files, logger: log, keepFrames: frameRetentionMs > 0 });
  /** Old frames, hourly (they are kept past their job, so the start-up sweep isn't enough). */
  const frameSweep = createPeriodic({ clock, everyMs: FRAME_SWEEP_EVERY_MS, atFirstCall: false, task: () => files.sweepFrames(), onError: (err) => log.warn({ err }, 'could not clean up old frames') });
  const retention = createJobRetention({ store, clock, logger: log, retentionMs: config.jobRetentionMs ?? DEFAULT_JOB_RETENTION_MS, stopped: () => stopped });
  const machine = createJobMachine({ store, clock, logger: log, self, providerLabel: (job) => label(job.provider), storeRetry: STORE_RETRY });
  const ownership = createOwnership({ store, clock, logger: log, identity, leaseMs: config.leaseMs, surfaces: [...surfaces.keys()] });
  const queue = createJobQueue<Live>({ maxInFlight: config.maxInFlight, maxPerUser: config.maxPerUser });
  const scheduler = createScheduler({
    clock,
    concurrency: config.pollConcurrency,
    run: (key) => (key === '__pump' ? steps.pump() : key === '__queue' ? refreshQueue() : steps.step(key)),
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
    if (r.prev !== status) {
      recordTransition(metrics, r.prev, l.job);
      emit({ type: 'status', job: l.job });
    }
    if (isFinal(status)) {
      await end(l, r.notice);
      return r;
    }
    if (status === 'queued' && r.prev !== 'queued') {
      queueChanged();
      schedulePump();
    } else if (status === 'running' && r.prev !== 'running') {
      l.estimate = await renderTimes.estimate(l.job);
      planPoll(l);
    } else if (status === 'completed' && r.prev !== 'completed') {
      void renderTimes.learn(l.job);
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
    // No more progress edits. The final message waits for one still on its way (so it lands
    // last), but nothing else waits on the platform: a hung edit never holds a job's end.
    const edited = reporter.close(l);
    if (isFinal(job.status)) {
      log.info({ jobId: job.id, status: job.status, code: job.error?.code }, 'job ended');
      metrics.jobFinished(job.surface, job.request.modelId, job.status as JobOutcome);
      if (notice) {
        const told: Promise<void> = edited
          .then(() => tell(job, { kind: notice.kind, job: summary(job), text: notice.text }))
          .catch((err: unknown) => log.warn({ jobId: job.id, err }, 'could not show the final message'))
          .finally(() => finishing.delete(told));
        finishing.add(told);
      }
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

  // ---------- ownership ----------

  function track(job: JobRecord): Live {
    const l = newLive(job);
    live.set(job.id, l);
    return l;
  }

  async function heartbeat() {
    if (stopped) return;
    const renewed = await ownership.renew();
    leaseTimer = clock.setTimer(() => void heartbeat(), config.leaseMs / 3);
    // Hourly: old frames; and at the first heartbeat (start), then hourly, finished jobs past JOB_RETENTION_DAYS.
    if (sweep) frameSweep.due();
    if (sweep) retention.due();
    const wasFenced = isFenced();
    const read = recheckOnce();
    if (wasFenced && renewed) {
      // Carry on only with the jobs still ours (a recheck under way may have begun before the renewal).
      if ((await read) && (await recheckOnce()) && !stopped) {
        fenced = false;
        log.info({}, 'the instance lease is renewed again: status checks resume');
      }
    }
    if (sweep && ++beats % 3 === 0 && ownership.leasesTrustworthy()) await resume();
  }

  /** Starts a recheck unless one is under way; resolves as it does. */
  function recheckOnce(): Promise<boolean> {
    return (checking ??= recheck().finally(() => (checking = undefined)));
  }

  /**
   * Another instance may change one of our jobs without this one hearing of it (a Cancel clicked
   * there, or a takeover while we couldn't renew the lease): each heartbeat compares our jobs'
   * versions with the store's (a few cheap reads for thousands of jobs), reads again only those
   * that moved, and lets go of those that ended or went elsewhere, so none is polled, edited or
   * delivered past that.
   */
  async function recheck(): Promise<boolean> {
    const ours = [...live.values()].filter((l) => !l.held);
    let stored: Map<string, number>;
    try {
      stored = await store.versions(ours.map((l) => l.job.id));
    } catch (err) {
      log.warn({ err }, 'could not re-read our jobs; trying again at the next heartbeat');
      return false;
    }
    // A write of ours still on its way also shows as a change: re-reading it costs one read.
    const moved = ours.filter((l) => live.has(l.job.id) && stored.get(l.job.id) !== l.job.version);
    for (let i = 0; i < moved.length && !stopped; i += RECHECK_BATCH) {
      const batch = moved.slice(i, i + RECHECK_BATCH).filter((l) => live.has(l.job.id));
      const read = await Promise.allSettled(batch.map((l) => machine.refresh(l)));
      const failed = read.find((r) => r.status === 'rejected');
      if (failed) {
        log.warn({ err: failed.reason }, 'could not re-read our jobs; trying again at the next heartbeat');
        return false;
      }
      for (const [n, l] of batch.entries()) {
        const r = read[n] as PromiseFulfilledResult<{ lost: boolean }>;
        if (!r.value.lost || !live.has(l.job.id)) continue;
        const job = l.job;
        log.info({ jobId: job.id, status: job.status, owner: job.owner }, 'the job was ended or taken over by another instance');
        // Our progress edits may have landed over the final message shown from there: show it again.
        await end(l, isFinal(job.status) && job.error ? { kind: job.status === 'cancelled' ? 'cancelled' : 'failed', text: job.error.message } : undefined);
      }
    }
    return !stopped;
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
        l.estimate = await renderTimes.estimate(job);
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

  const steps = createJobSteps({
    providers: meteredProviders(deps.providers, metrics),
    catalogue: deps.catalogue,
    fetcher: deps.fetcher,
    files,
    media,
    metrics,
    config,
    ctx,
    renderElapsed,
    pausedUntil,
    surfaceOf,
    summary,
    clock,
    log,
    live,
    queue,
    machine,
    reporter,
    scheduler,
    stopped: () => stopped,
    fenced: isFenced,
    label,
    apply,
    wake,
    planPoll,
    schedulePump,
    queueChanged,
  });

  return {
    self,
    live,
    listeners,
    files,
    media,
    machine,
    queue,
    reporter,
    summary,
    surfaces,
    track,
    apply,
    end,
    tell,
    queueChanged,
    metrics,
    pump: () => steps.pump(),

    /** This instance's jobs by active status, and the queue's length (cheap: one pass over the live jobs). */
    counts(): JobCounts {
      const active = Object.fromEntries(ACTIVE_STATUSES.map((s) => [s, 0])) as JobCounts['active'];
      for (const l of live.values()) if (l.job.status in active) active[l.job.status as ActiveStatus]++;
      return { active, queueLength: queue.waiting };
    },

    /**
     * Starts the lease heartbeat and, when `sweep`, cleans up files left by a crash, resumes
     * unfinished jobs now and keeps taking over jobs whose owner dies later.
     */
    async start(takeOver: boolean): Promise<number> {
      sweep = takeOver;
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

    /** Stops timers and lets work under way finish (up to `graceMs`); jobs stay in the store. */
    stop(graceMs: number): Promise<void> {
      stopping ??= stopOnce(graceMs);
      return stopping;
    },
  };

  async function stopOnce(graceMs: number): Promise<void> {
    stopped = true;
    scheduler.stop();
    reporter.stop();
    leaseTimer?.();
    const done = Promise.all([scheduler.idle(), ...steps.underWay(), ...[...live.values()].map((l) => l.progress.sending), ...finishing, ...media.underWay(), retention.underWay(), frameSweep.underWay()]);
    let cancelTimer: () => void = () => {};
    const grace = new Promise<void>((r) => {
      cancelTimer = clock.setTimer(r, graceMs);
    });
    await Promise.race([done, grace]);
    cancelTimer();
    machine.stop();
    await ownership.release();
  }
}

export type JobRunner = ReturnType<typeof createJobRunner>;

/**
 * The steps of a job's life, each run when the scheduler wakes the job: the
 * pump that submits queued jobs within the caps, one submit, one status check,
 * one delivery attempt. Each asks its part (submit-step, job-polling, delivery)
 * for an outcome and hands it to `apply`; none writes the record itself.
 */
import type { Clock } from './clock.js';
import { createDelivery } from './delivery.js';
import type { JobFetcherDeps } from './job-runner.js';
import type { Commit, JobMachine } from './job-machine.js';
import { StoppedError } from './job-machine.js';
import { createPoller } from './job-polling.js';
import type { PollOutcome } from './job-polling.js';
import type { JobQueue } from './job-queue.js';
import type { JobEvent } from './lifecycle.js';
import type { Live } from './live-job.js';
import type { Logger } from './logger.js';
import type { Scheduler } from './scheduler.js';
import { createLimiter, createSubmitStep } from './submit-step.js';

export interface StepContext extends JobFetcherDeps {
  clock: Clock;
  log: Logger;
  live: Map<string, Live>;
  queue: JobQueue<Live>;
  machine: JobMachine;
  reporter: { show(l: Live, urgent?: boolean): void };
  scheduler: Scheduler;
  stopped(): boolean;
  /** Our lease may have lapsed (the store hasn't taken a renewal for a while): another instance may own our jobs now. */
  fenced(): boolean;
  label(provider: string): string;
  apply(l: Live, event: JobEvent): Promise<Commit>;
  wake(l: Live, at: number): void;
  planPoll(l: Live, minDelay?: number): void;
  schedulePump(): void;
  queueChanged(): void;
}

export function createJobSteps(c: StepContext) {
  const { clock, log, config, live, queue, machine, reporter, scheduler, apply, wake, planPoll, schedulePump, queueChanged, label } = c;
  const inFlightSubmits = new Set<Promise<void>>();
  /** Work of steps that continues outside the scheduler's slots (see `step`). */
  const background = new Set<Promise<unknown>>();
  /** Deliveries under way at once (downloads and uploads). */
  const deliveries = createLimiter(config.deliveryConcurrency ?? 16);
  const submitStep = createSubmitStep({ providers: c.providers, catalogue: c.catalogue, files: c.files, providerLabel: label, now: () => clock.now(), ctx: c.ctx, inlineLimit: config.inlineSubmits ?? 4 });
  const poller = createPoller({ clock, logger: log, config, providers: c.providers, ctx: c.ctx, renderElapsed: c.renderElapsed, pausedUntil: c.pausedUntil });
  const delivery = createDelivery({ clock, logger: log, fetcher: c.fetcher, files: c.files, media: c.media, metrics: c.metrics, config, surfaceOf: c.surfaceOf, summary: c.summary, show: (l) => reporter.show(l, true), aside: deliveries.aside });

  async function pump(): Promise<void> {
    if (c.stopped()) return;
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
    } else {
      // Nothing new from the provider, but the message may still be owed an edit: the job has one
      // wake-up, and this poll took the place of the progress one (an edit put off for the pace or
      // the edit budget, or the next tick of the time left). Without this the message froze until
      // the provider's status next changed.
      reporter.show(l);
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
    if (!l || c.stopped()) return;
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
          if (c.fenced()) {
            // Not while another instance may be polling it: again once our lease is renewed and our jobs re-read.
            planPoll(l);
          } else {
            l.nextPollAt = undefined;
            const outcome = await poller.poll(l);
            rest = afterPoll(l, outcome);
          }
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

  return {
    pump,
    step,
    /** Work still under way: submits, and what steps do outside the scheduler's slots. */
    underWay: () => [...inFlightSubmits, ...background],
  };
}

export type JobSteps = ReturnType<typeof createJobSteps>;

/**
 * Learned render times for the poll plan: the catalogue's prior, refined by
 * every finished job. Read from the store once per model/resolution/duration
 * and written through after each render.
 */
import type { Catalogue } from './catalogue.js';
import type { RenderEstimate, RenderStats } from './eta.js';
import { estimate, observe, priorEstimate, statsKey } from './eta.js';
import type { JobRecord } from './job.js';
import type { JobStore } from './job-store.js';
import type { Logger } from './logger.js';

export function createRenderTimes(d: { store: Pick<JobStore, 'getStats' | 'putStats'>; catalogue: Catalogue; logger: Logger }) {
  const stats = new Map<string, Promise<RenderStats | undefined>>();
  const statsOf = (key: string) => {
    let s = stats.get(key);
    if (!s) {
      s = d.store.getStats(key).catch(() => {
        stats.delete(key);
        return undefined;
      });
      stats.set(key, s);
    }
    return s;
  };

  return {
    /** How long this job's render is likely to take. */
    async estimate(job: JobRecord): Promise<RenderEstimate | undefined> {
      const spec = d.catalogue.byId(job.request.modelId);
      if (!spec) return undefined;
      return estimate(priorEstimate(spec, job.request.resolution, job.request.duration), await statsOf(statsKey(spec.id, job.request.resolution, job.request.duration)));
    },
    /** Records how long a finished job took to render. */
    async learn(job: JobRecord): Promise<void> {
      if (!job.submittedAt || !job.completedAt) return;
      const key = statsKey(job.request.modelId, job.request.resolution, job.request.duration);
      const next = observe(await statsOf(key), (job.completedAt - job.submittedAt) / 1000);
      stats.set(key, Promise.resolve(next));
      await d.store.putStats(key, next).catch((err: unknown) => d.logger.warn({ jobId: job.id, err }, 'could not record the render time'));
    },
  };
}

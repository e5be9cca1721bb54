/** What surfaces show about a job next to its progress and result. */
import type { Catalogue } from './catalogue.js';
import type { JobRecord } from './job.js';
import type { JobSummary } from './ports.js';

export function summarize(job: JobRecord, catalogue: Catalogue): JobSummary {
  const spec = catalogue.byId(job.request.modelId);
  const r = job.request;
  const refs = (r.references?.length ?? 0) + (r.referenceVideos?.length ?? 0) + (r.referenceAudios?.length ?? 0);
  return {
    id: job.id,
    prompt: job.request.prompt,
    modelLabel: spec?.label ?? job.request.modelId,
    modelAlias: spec?.alias ?? job.request.modelId,
    resolution: job.request.resolution,
    duration: job.request.duration,
    ...(job.request.aspectRatio ? { aspectRatio: job.request.aspectRatio } : {}),
    seed: job.request.seed,
    fromImage: Boolean(job.request.image),
    ...(job.request.audio !== undefined ? { sound: job.request.audio } : {}),
    ...(refs ? { references: refs } : {}),
    requesterId: job.requester.id,
  };
}

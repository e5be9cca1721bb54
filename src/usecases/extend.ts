/**
 * Extend: a new clip that carries on from a delivered one, with a new prompt and
 * the same model and settings. It starts from the video's last frame (grabbed
 * with ffmpeg when the video was delivered, kept FRAME_RETENTION_DAYS; with
 * several instances on one Redis, in the store too, so any of them can extend
 * it: see frame-store.ts). On a model that takes reference videos, the whole
 * clip can be the reference (`@Video1`) instead, while the provider's link to
 * it lasts.
 *
 * Like Re-roll, this builds an input; the adapter starts it through the same
 * `start` pipeline as any video (channelAllowed, validation, dailyLimit,
 * perUserCap), in the conversation of the original.
 */
import type { Catalogue, ModelSpec } from '../core/catalogue.js';
import { UserFacingError } from '../core/errors.js';
import { probeImage } from '../core/image-probe.js';
import type { JobRecord } from '../core/job.js';
import { isFinal } from '../core/job.js';
import type { GenerationInput } from '../core/request.js';
import { PROMPT_MAX_CHARS, inputFromRequest } from '../core/request.js';

/** What the new clip continues from: the last frame as its first frame, or the whole clip as `@Video1`. */
export type ExtendFrom = 'frame' | 'clip';

/** The last frames of delivered videos. Absent when this bot has no ffmpeg (none are grabbed). */
export interface LastFrames {
  /** The JPEG, while it is kept; a grab still under way is waited for up to `waitMs`. */
  get(jobId: string, opts?: { waitMs?: number }): Promise<Uint8Array | undefined>;
  /** How long frames are kept (FRAME_RETENTION_DAYS), for the refusal's words. */
  retentionDays: number;
}

/** What Extend can start from for one video. At least one is true. */
export interface ExtendOffer {
  frame: boolean;
  clip: boolean;
}

export interface ExtendDeps {
  catalogue: Catalogue;
  frames?: LastFrames;
  now: () => number;
  aliasOf(job: JobRecord): string;
}

/** The 2.x schemas take reference videos of about 480p to 720p. */
const CLIP_RESOLUTIONS: readonly string[] = ['480p', '720p'];
/** The provider fetches the clip when the new job is submitted, which may be after a wait in the queue. */
const LINK_MARGIN_MS = 15 * 60_000;
const CLIP_PREFIX = 'Continue @Video1: ';
const MENTIONS_CLIP = /@video1(?!\d)/i;
/** A frame still missing this soon after the delivery is on its way (its grab may wait behind encodes). */
const FRESH_MS = 60_000;
/** How long a grab under way is waited for: Discord and Slack want an answer within 3 s. */
const FRAME_WAIT_MS = 1500;

/** The model's aspect ratio nearest to a frame's shape. */
function nearestRatio(spec: ModelSpec, width: number, height: number): string | undefined {
  const shape = (r: string) => {
    const [w, h] = r.split(':').map(Number);
    return w && h ? Math.log(w / h) : undefined;
  };
  const target = Math.log(width / height);
  let best: { ratio: string; off: number } | undefined;
  for (const ratio of spec.aspectRatios) {
    const s = shape(ratio);
    if (s === undefined) continue;
    const off = Math.abs(s - target);
    if (!best || off < best.off) best = { ratio, off };
  }
  return best?.ratio;
}

export function createExtend(d: ExtendDeps) {
  const specOf = (job: JobRecord) => d.catalogue.byId(job.request.modelId);

  function mustBeDelivered(job: JobRecord): void {
    if (job.status === 'delivered') return;
    if (isFinal(job.status)) throw new UserFacingError('not_extendable', "This job didn't deliver a video, so there is nothing to extend.");
    throw new UserFacingError('not_delivered', "This video isn't delivered yet; press Extend once it is.");
  }

  /** The provider's link to the clip, if it can be the reference video of a new one. */
  function clipLink(job: JobRecord): string | undefined {
    const spec = specOf(job);
    const video = job.result?.video;
    if (!spec || spec.references.videos < 1 || !CLIP_RESOLUTIONS.includes(job.request.resolution)) return undefined;
    if (video?.kind !== 'url' || video.expiresAt === undefined || video.expiresAt - LINK_MARGIN_MS <= d.now()) return undefined;
    return video.url;
  }

  const frameOf = (job: JobRecord) => (d.frames ? d.frames.get(job.id, { waitMs: FRAME_WAIT_MS }).catch(() => undefined) : Promise.resolve(undefined));

  function noFrame(job: JobRecord): UserFacingError {
    if (!d.frames) return new UserFacingError('no_ffmpeg', "ffmpeg isn't installed on this bot, so Extend is unavailable.");
    const days = d.frames.retentionDays;
    if (days <= 0) return new UserFacingError('no_frames_kept', 'This bot keeps no last frames of its videos, so Extend is unavailable.');
    if (job.result?.deliveredAs === 'link') return new UserFacingError('no_frame', "This video was posted as a link, so its last frame wasn't kept and it can't be extended.");
    // The frame is grabbed just after the delivery, by the instance that delivered it (then copied to a shared store).
    if (job.finishedAt !== undefined && d.now() - job.finishedAt < FRESH_MS) return new UserFacingError('frame_not_ready', "This video's last frame isn't ready yet; try Extend again in a few seconds.");
    return new UserFacingError('no_frame', `This video's last frame isn't available any more (frames are kept ${days} day${days === 1 ? '' : 's'}), so it can't be extended.`);
  }

  /** The original's settings with a new prompt: no frames, references or aspect ratio of its own. */
  function settingsOf(job: JobRecord, prompt: string): GenerationInput {
    const request = { ...job.request, image: undefined, lastFrame: undefined, references: undefined, referenceVideos: undefined, referenceAudios: undefined, aspectRatio: undefined };
    return inputFromRequest(request, d.aliasOf(job), { prompt })!;
  }

  function fromClip(job: JobRecord, base: GenerationInput, link: string, frame: Uint8Array | undefined): GenerationInput {
    const prompt = base.prompt.trim();
    const named = MENTIONS_CLIP.test(prompt) ? prompt : `${CLIP_PREFIX}${prompt}`;
    if (named.length > PROMPT_MAX_CHARS && prompt.length <= PROMPT_MAX_CHARS) {
      throw new UserFacingError('prompt_too_long', `With the whole clip as reference the prompt starts "${CLIP_PREFIX.trim()}"; keep yours under ${PROMPT_MAX_CHARS - CLIP_PREFIX.length} characters, or name @Video1 in it yourself.`);
    }
    // No image decides the shape now: keep the original's, or the one nearest to its last frame.
    const spec = specOf(job);
    const kept = job.request.aspectRatio && spec?.aspectRatios.includes(job.request.aspectRatio) && job.request.aspectRatio !== 'adaptive' ? job.request.aspectRatio : undefined;
    const info = !kept && frame && spec ? probeImage(frame) : undefined;
    const ratio = kept ?? (info && spec ? nearestRatio(spec, info.width, info.height) : undefined);
    return { ...base, prompt: named, referenceVideos: [link], ...(ratio ? { aspectRatio: ratio } : {}) };
  }

  return {
    /** What Extend can continue `job` from (for the form's choice); throws the refusal when nothing. */
    async extendOffer(job: JobRecord): Promise<ExtendOffer> {
      mustBeDelivered(job);
      const frame = (await frameOf(job)) !== undefined;
      const clip = clipLink(job) !== undefined;
      if (!frame && !clip) throw noFrame(job);
      return { frame, clip };
    },

    /**
     * The input of a clip that continues `job` with `prompt`. Without `from`: the last frame, or the
     * whole clip where only that is available. Throws the refusal when it can't be made.
     */
    async extend(job: JobRecord, o: { prompt: string; from?: ExtendFrom }): Promise<GenerationInput> {
      mustBeDelivered(job);
      const base = settingsOf(job, o.prompt);
      const link = clipLink(job);
      const frame = await frameOf(job);
      if (o.from === 'clip' || (o.from === undefined && !frame && link)) {
        if (!link) throw new UserFacingError('no_clip', "This clip can't be the reference video any more (the provider's link to it has expired); continue from its last frame instead.");
        return fromClip(job, base, link, frame);
      }
      if (!frame) throw noFrame(job);
      // By reference to the kept frame, so the new clip can be re-rolled (and extended) while it is kept.
      const info = probeImage(frame);
      if (!info) return { ...base, image: { kind: 'bytes', data: frame, name: `${job.id}-last.jpg` } };
      return { ...base, image: { kind: 'kept', file: `frames/${job.id}.jpg`, mime: info.mime, bytes: frame.byteLength, width: info.width, height: info.height } };
    },
  };
}

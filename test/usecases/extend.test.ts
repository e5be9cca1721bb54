/**
 * Extend's input, over the real catalogue and validator: what the new clip
 * keeps of the original, the last frame as its first frame, the whole clip as
 * `@Video1` where the model takes it, and every refusal in its own words.
 * (End to end through Discord and Slack: test/discord/discord-extend.test.ts,
 * test/slack/slack-extend.test.ts.)
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createCatalogue } from '../../src/core/catalogue.js';
import type { JobRecord } from '../../src/core/job.js';
import type { GenerationInput } from '../../src/core/request.js';
import { createRequestValidator, inputFromRequest } from '../../src/core/request.js';
import { BUILTIN_MODELS } from '../../src/providers/index.js';
import type { LastFrames } from '../../src/usecases/extend.js';
import { createExtend } from '../../src/usecases/extend.js';

const NOW = Date.UTC(2026, 5, 1, 12);
const FRAME = new Uint8Array(readFileSync(new URL('../fixtures/green-400x300.jpg', import.meta.url)));
const LINK = 'https://cdn.example/clip.mp4?X-Tos-Expires=86400';
const catalogue = createCatalogue(BUILTIN_MODELS, { providers: ['aimlapi'] });
const validator = createRequestValidator(catalogue, { model: 'lite', resolution: '720p', duration: 5 });
const aliasOf = (job: JobRecord) => catalogue.byId(job.request.modelId)!.alias;

function delivered(input: GenerationInput, over: Partial<JobRecord> = {}): JobRecord {
  return {
    id: '0b7c4f0e-3f7a-4d8e-9a41-5c2d1e0f9a11',
    version: 7,
    surface: 'test',
    conversation: 'test:c:1',
    requester: { id: 'u1' },
    meta: {},
    request: validator.parse(input),
    provider: 'aimlapi',
    status: 'delivered',
    createdAt: NOW - 3_600_000,
    finishedAt: NOW - 3_000_000,
    updatedAt: NOW - 3_000_000,
    attempts: { submit: 1, delivery: 1 },
    result: { video: { kind: 'url', url: LINK, expiresAt: NOW + 20 * 3_600_000 }, deliveredAs: 'file' },
    ...over,
  };
}

function extender(frames: Record<string, Uint8Array> | undefined, retentionDays = 7) {
  const source: LastFrames | undefined = frames && { get: async (id) => frames[id], retentionDays };
  return createExtend({ catalogue, ...(source ? { frames: source } : {}), now: () => NOW, aliasOf });
}

describe('Extend', () => {
  it('starts from the last frame with the same model and settings, a new prompt and no frames, references or shape of its own', async () => {
    const job = delivered({ prompt: 'a fox in the snow', model: 'pro', resolution: '480p', duration: 10, aspectRatio: '9:16', seed: 42, fixedCamera: true, watermark: true });
    const x = extender({ [job.id]: FRAME });
    expect(await x.extendOffer(job)).toEqual({ frame: true, clip: false });
    const input = await x.extend(job, { prompt: 'the fox jumps' });
    expect(input).toEqual({ prompt: 'the fox jumps', model: 'pro', resolution: '480p', duration: 10, fixedCamera: true, watermark: true, audio: false, image: { kind: 'kept', file: `frames/${job.id}.jpg`, mime: 'image/jpeg', bytes: FRAME.byteLength, width: 400, height: 300 } });
    // Valid as it is: pro image-to-video, the frame as the first frame, a new seed.
    const request = validator.parse(input);
    expect(request).toMatchObject({ modelId: 'aimlapi/seedance-1-0-pro-i2v', prompt: 'the fox jumps', resolution: '480p', duration: 10, fixedCamera: true, watermark: true, image: { mime: 'image/jpeg', width: 400, height: 300 } });
    // By reference to the kept frame: nothing is copied, and the new clip can be re-rolled while the frame is kept.
    expect(request.image).toMatchObject({ file: `frames/${job.id}.jpg` });
    expect(request.image!.data).toBeUndefined();
    expect(inputFromRequest(request, 'pro')).toMatchObject({ image: { kind: 'kept', file: `frames/${job.id}.jpg` } });
    expect(request.aspectRatio).toBeUndefined();
  });

  it('drops the original first frame and references, and keeps sound off when it was off', async () => {
    const job = delivered({ prompt: 'two cats', model: '2.0', references: [{ kind: 'url', url: 'https://cdn.example/a.png', mime: 'image/png', width: 800, height: 800, bytes: 1000 }], audio: false });
    const input = await extender({ [job.id]: FRAME }).extend(job, { prompt: 'they play', from: 'frame' });
    expect(input).toMatchObject({ model: '2.0', audio: false, image: { kind: 'kept' } });
    expect(input).not.toHaveProperty('references');
    expect(input).not.toHaveProperty('lastFrame');
    expect(validator.parse(input)).toMatchObject({ modelId: 'aimlapi/seedance-2-0', audio: false });
  });

  it('refuses in its own words when there is nothing to continue from', async () => {
    const job = delivered({ prompt: 'a boat' });
    await expect(extender(undefined).extendOffer(job)).rejects.toThrow("ffmpeg isn't installed on this bot, so Extend is unavailable.");
    await expect(extender(undefined).extend(job, { prompt: 'x' })).rejects.toThrow("ffmpeg isn't installed");
    await expect(extender({}).extend(job, { prompt: 'x' })).rejects.toThrow("This video's last frame isn't available any more (frames are kept 7 days)");
    await expect(extender({}, 1).extendOffer(job)).rejects.toThrow('(frames are kept 1 day)');
    await expect(extender({}, 0).extendOffer(job)).rejects.toThrow('keeps no last frames');
    await expect(extender({}).extendOffer({ ...job, finishedAt: NOW - 5000 })).rejects.toThrow("isn't ready yet; try Extend again in a few seconds");
    await expect(extender({}).extendOffer({ ...job, result: { ...job.result!, deliveredAs: 'link' } })).rejects.toThrow('posted as a link');
    await expect(extender({ [job.id]: FRAME }).extendOffer({ ...job, status: 'running' })).rejects.toThrow("isn't delivered yet");
    await expect(extender({ [job.id]: FRAME }).extend({ ...job, status: 'failed' }, { prompt: 'x' })).rejects.toThrow("didn't deliver a video");
  });

  it('offers the whole clip as @Video1 on a model that takes reference videos, while its link lasts, at 480p or 720p', async () => {
    const job = delivered({ prompt: 'a fox', model: '2.0', resolution: '720p', duration: 8, aspectRatio: '9:16' });
    const x = extender({ [job.id]: FRAME });
    expect(await x.extendOffer(job)).toEqual({ frame: true, clip: true });
    const input = await x.extend(job, { prompt: 'the fox jumps', from: 'clip' });
    expect(input).toEqual({ prompt: 'Continue @Video1: the fox jumps', model: '2.0', resolution: '720p', duration: 8, aspectRatio: '9:16', referenceVideos: [LINK] });
    expect(validator.parse(input)).toMatchObject({ modelId: 'aimlapi/seedance-2-0', referenceVideos: [LINK], aspectRatio: '9:16' });
    // A prompt that names the clip is left as written.
    expect((await x.extend(job, { prompt: 'the fox from @video1 jumps', from: 'clip' })).prompt).toBe('the fox from @video1 jumps');
    // The last frame stays the default.
    expect(await x.extend(job, { prompt: 'on' })).toHaveProperty('image');

    // Not offered: 1080p, a link about to expire, a model without reference videos.
    for (const other of [
      delivered({ prompt: 'a fox', model: '2.0', resolution: '1080p' }),
      { ...job, result: { video: { kind: 'url' as const, url: LINK, expiresAt: NOW + 60_000 } } },
      { ...job, result: { video: { kind: 'url' as const, url: LINK } } },
      delivered({ prompt: 'a fox', model: 'lite' }),
    ]) {
      expect(await x.extendOffer(other)).toEqual({ frame: true, clip: false });
      await expect(x.extend(other, { prompt: 'x', from: 'clip' })).rejects.toThrow("can't be the reference video any more");
    }
  });

  it('continues from the clip when only that is possible, in the shape nearest its last frame when the original had none', async () => {
    const job = delivered({ prompt: 'a fox', model: '2.0', resolution: '480p' });
    await expect(extender({}).extendOffer(job)).resolves.toEqual({ frame: false, clip: true });
    expect(await extender({}).extend(job, { prompt: 'on' })).toMatchObject({ referenceVideos: [LINK], prompt: 'Continue @Video1: on', aspectRatio: '16:9' });
    // Started from an image: no ratio of its own; the 400x300 frame says 4:3.
    const fromImage = { ...job, request: { ...job.request, aspectRatio: undefined } };
    expect(await extender({ [job.id]: FRAME }).extend(fromImage, { prompt: 'on', from: 'clip' })).toMatchObject({ aspectRatio: '4:3' });
    // "Continue @Video1: " must still fit.
    await expect(extender({}).extend(job, { prompt: 'x'.repeat(1995) })).rejects.toThrow('keep yours under 1982 characters');
  });
});

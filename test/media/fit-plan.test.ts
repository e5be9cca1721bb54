/** The arithmetic of fitting a video into a size: bitrates, the sound's share, when to shrink the picture. */
import { describe, expect, it } from 'vitest';
import { AUDIO_BPS, FIT_MARGIN, TIGHT_AUDIO_BPS, encodeArgs, planFit } from '../../src/media/fit-plan.js';

const MIB = 1024 * 1024;
const hd = { durationS: 10, width: 1920, height: 1080, hasAudio: true, fps: 24 };

describe('planFit', () => {
  it('spends the limit less the margin and the sound, over the whole length', () => {
    const p = planFit(hd, 10 * MIB)!;
    expect(p.audioBps).toBe(AUDIO_BPS);
    expect(p.videoBps + p.audioBps).toBeCloseTo((10 * MIB * 8 * FIT_MARGIN) / 10, -1);
    expect(p).toMatchObject({ width: 1920, height: 1080, scaled: false });
  });

  it('keeps the picture when the bits suffice and steps down to 720, 480, 360 as they get thin', () => {
    expect(planFit({ ...hd, durationS: 30 }, 10 * MIB)).toMatchObject({ width: 1280, height: 720, scaled: true });
    expect(planFit({ ...hd, durationS: 30 }, 4 * MIB)).toMatchObject({ height: 480, width: 854 });
    expect(planFit({ ...hd, durationS: 30 }, 2 * MIB)).toMatchObject({ height: 360, width: 640 });
  });

  it('scales the short side of a portrait video, and keeps both sides even', () => {
    const p = planFit({ durationS: 30, width: 1080, height: 1920, hasAudio: false, fps: 30 }, 8 * MIB)!;
    expect(p.scaled).toBe(true);
    expect(p.width).toBeLessThan(1080);
    expect(p.width % 2).toBe(0);
    expect(p.height % 2).toBe(0);
    expect(p.height / p.width).toBeCloseTo(1920 / 1080, 1);
    expect(p.audioBps).toBe(0);
  });

  it('takes less for the sound when the limit is tight, and gives up when nothing watchable fits', () => {
    expect(planFit({ ...hd, durationS: 30 }, 1 * MIB)!.audioBps).toBe(TIGHT_AUDIO_BPS);
    expect(planFit({ ...hd, durationS: 30 }, 300 * 1024)).toBeUndefined();
    expect(planFit({ ...hd, durationS: 0 }, MIB)).toBeUndefined();
  });

  it('aims lower on a second try', () => {
    expect(planFit(hd, 10 * MIB, 0.8)!.videoBps).toBeLessThan(planFit(hd, 10 * MIB)!.videoBps);
  });

  it('asks ffmpeg for H.264 with a capped rate, AAC, fast start and a given format', () => {
    const args = encodeArgs('/in.mp4', '/out.tmp', planFit({ ...hd, durationS: 30 }, 10 * MIB)!);
    const s = args.join(' ');
    expect(s).toContain('-c:v libx264 -preset veryfast');
    expect(s).toMatch(/-b:v (\d+)k -maxrate \1k -bufsize \d+k/);
    expect(s).toContain('-vf scale=1280:720');
    expect(s).toContain('-pix_fmt yuv420p');
    expect(s).toContain('-c:a aac -b:a 96k');
    expect(s).toContain('-movflags +faststart -f mp4 /out.tmp');
  });
});

/** How each platform words a video that was re-encoded to fit, and the "done" note after it. */
import { describe, expect, it } from 'vitest';
import type { SurfaceMessage } from '../../src/core/ports.js';
import { renderMessage } from '../../src/surfaces/discord/discord-format.js';
import { renderSlack, videoCaption } from '../../src/surfaces/slack/slack-format.js';
import { resultLine } from '../../src/surfaces/terminal/terminal-format.js';
import { sampleJob } from './chat-surface-contract.js';

const expiresAt = Date.UTC(2030, 0, 1);
const video = (compressed?: Extract<SurfaceMessage, { kind: 'video' }>['compressed']): Extract<SurfaceMessage, { kind: 'video' }> => ({
  kind: 'video',
  job: sampleJob,
  bytes: 9 * 1024 * 1024,
  ...(compressed ? { compressed } : {}),
});
const original = { originalBytes: 23.4 * 1024 * 1024, url: 'https://cdn.example/v.mp4?sig=1', expiresAt };

describe('a compressed video', () => {
  it('on Discord: says so, with the size of the original, its link and when the link expires', () => {
    const text = renderMessage(video(original)).content;
    expect(text).toContain(`compressed to fit the upload limit (original 23.4 MB: https://cdn.example/v.mp4?sig=1, expires <t:${expiresAt / 1000}:R>)`);
    expect(renderMessage(video({ originalBytes: 23.4 * 1024 * 1024 })).content).toContain('compressed to fit the upload limit (original 23.4 MB)');
    expect(renderMessage(video()).content).not.toContain('compressed');
    expect(renderMessage({ kind: 'done', job: sampleJob, elapsedSeconds: 61, deliveredAs: 'compressed' }).content).toContain('✅ Done in 1:01 · compressed to fit the upload limit');
  });

  it('on Slack: the caption links the original with its expiry in the reader’s time zone', () => {
    const text = videoCaption(video(original));
    expect(text).toContain(`compressed to fit the upload limit (original 23.4 MB: <https://cdn.example/v.mp4?sig=1|download it here>, expires <!date^${expiresAt / 1000}^{date_short_pretty} {time}|soon>)`);
    expect(videoCaption(video())).not.toContain('compressed');
    const done = JSON.stringify(renderSlack({ kind: 'done', job: sampleJob, elapsedSeconds: 61, deliveredAs: 'compressed' }).blocks);
    expect(done).toContain('compressed to fit the upload limit · the video is in the thread');
  });

  it('in the terminal: names the original size', () => {
    expect(resultLine(video(original), 'fox.mp4')).toContain('compressed to fit (original 23 MB)');
  });
});

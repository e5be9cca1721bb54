/**
 * The contract every ChatSurface implementation must meet. Each platform's
 * tests call `chatSurfaceContract` with a factory for its own surface.
 */
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ChatSurface, JobSummary, SurfaceMessage } from '../../src/core/ports.js';

export const sampleJob: JobSummary = {
  id: 'job-1',
  prompt: 'a fox running through snow',
  modelLabel: 'Seedance 1.0 Lite text-to-video (AIML API)',
  modelAlias: 'lite',
  resolution: '720p',
  duration: 5,
  aspectRatio: '16:9',
  seed: 4242,
  fromImage: false,
  requesterId: 'u1',
};

export const sampleMessages: Record<SurfaceMessage['kind'], SurfaceMessage> = {
  progress: { kind: 'progress', job: sampleJob, progress: { jobId: 'job-1', phase: 'rendering', providerStatus: 'generating', elapsedSeconds: 12, remainingSeconds: 30, percent: 25 } },
  video: { kind: 'video', job: sampleJob, bytes: 2048, creditsUsed: 120000 },
  link: { kind: 'link', job: sampleJob, url: 'https://cdn.example/v.mp4', expiresAt: Date.UTC(2030, 0, 1), bytes: 20 * 1024 * 1024, limitBytes: 10 * 1024 * 1024 },
  failed: { kind: 'failed', job: sampleJob, text: 'The video could not be made: sensitive content' },
  cancelled: { kind: 'cancelled', job: sampleJob, text: 'Cancelled before it was submitted; nothing was charged.' },
  done: { kind: 'done', job: sampleJob, elapsedSeconds: 52, deliveredAs: 'file' },
};

export interface ContractSubject {
  surface: ChatSurface;
  /** A conversation reference the surface can post into. */
  conversation: string;
  /** Text the platform/user can now see for a message ref (or everything shown, for the terminal). */
  shown(ref: string): Promise<string>;
}

export function chatSurfaceContract(name: string, make: () => Promise<ContractSubject>) {
  describe(`ChatSurface contract: ${name}`, () => {
    it('posts and edits every kind of message, returning references it owns', async () => {
      const s = await make();
      expect(s.conversation.startsWith(`${s.surface.kind}:`)).toBe(true);
      const ref = await s.surface.post(s.conversation, sampleMessages.progress);
      expect(typeof ref).toBe('string');
      expect(ref.startsWith(`${s.surface.kind}:`)).toBe(true);
      expect(await s.shown(ref)).toContain('25%');
      for (const kind of ['failed', 'cancelled', 'link'] as const) {
        await s.surface.edit(ref, sampleMessages[kind]);
      }
      const shown = await s.shown(ref);
      expect(shown).toContain('https://cdn.example/v.mp4');
    });

    it('declares a positive upload limit and a sane progress pace', async () => {
      const s = await make();
      expect(await s.surface.maxUploadBytes(s.conversation, {})).toBeGreaterThan(1024 * 1024);
      expect(s.surface.progressIntervalMs).toBeGreaterThanOrEqual(500);
    });

    it('uploads a video with a caption that carries what is needed to reproduce it', async () => {
      const s = await make();
      const dir = mkdtempSync(join(tmpdir(), 'contract-'));
      const path = join(dir, 'v.mp4');
      writeFileSync(path, Buffer.alloc(2048, 1));
      const ref = await s.surface.upload(s.conversation, { path, name: 'seedance-4242.mp4', bytes: 2048, contentType: 'video/mp4' }, sampleMessages.video, { idempotencyKey: 'job-1' });
      expect(ref.startsWith(`${s.surface.kind}:`)).toBe(true);
      const shown = await s.shown(ref);
      expect(shown).toContain('4242');
      expect(shown).toContain('lite');
    });
  });
}

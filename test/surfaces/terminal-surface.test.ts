import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createTerminalSurface, outPathOf, terminalConversation } from '../../src/surfaces/terminal/terminal-surface.js';
import { progressLine } from '../../src/surfaces/terminal/terminal-format.js';
import { chatSurfaceContract, sampleMessages } from './chat-surface-contract.js';

function subject(tty = false) {
  const out = Object.assign(new PassThrough(), { isTTY: tty });
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  const dir = mkdtempSync(join(tmpdir(), 'terminal-'));
  const surface = createTerminalSurface({ out });
  return { surface, out, dir, text: () => text, conversation: terminalConversation(join(dir, 'out.mp4')) };
}

chatSurfaceContract('terminal', async () => {
  const s = subject();
  return { surface: s.surface, conversation: s.conversation, shown: async () => s.text() };
});

describe('terminal surface', () => {
  it('draws a progress bar with status, elapsed, remaining and queue position', () => {
    expect(progressLine({ jobId: 'j', phase: 'rendering', providerStatus: 'generating', elapsedSeconds: 65, remainingSeconds: 30, percent: 50 }, 10)).toBe(
      '[#####-----] 50% · rendering (generating) · 1:05 elapsed · ~0:30 left',
    );
    expect(progressLine({ jobId: 'j', phase: 'queued', queuePosition: 3, elapsedSeconds: 2 }, 4)).toBe('[----]  0% · waiting for a slot · #3 in queue · 0:02 elapsed');
    expect(progressLine({ jobId: 'j', phase: 'rendering', elapsedSeconds: 90, remainingSeconds: 0, percent: 95 }, 4)).toContain('any moment now');
  });

  it('redraws one line on a TTY and writes plain lines otherwise', async () => {
    const tty = subject(true);
    const ref = await tty.surface.post(tty.conversation, sampleMessages.progress);
    await tty.surface.edit(ref, sampleMessages.progress);
    expect(tty.text().split('\r\x1b[2K')).toHaveLength(3);
    expect(tty.text()).not.toContain('\n');
    const plain = subject(false);
    await plain.surface.post(plain.conversation, sampleMessages.progress);
    expect(plain.text().endsWith('\n')).toBe(true);
  });

  it('writes the video atomically to the conversation path, and again idempotently', async () => {
    const s = subject();
    const src = join(s.dir, 'src.mp4');
    writeFileSync(src, Buffer.from('fake mp4 bytes'));
    const file = { path: src, name: 'x.mp4', bytes: 14, contentType: 'video/mp4' as const };
    await s.surface.upload(s.conversation, file, sampleMessages.video, { idempotencyKey: 'job-1' });
    await s.surface.upload(s.conversation, file, sampleMessages.video, { idempotencyKey: 'job-1' });
    const target = outPathOf(s.conversation);
    expect(readFileSync(target, 'utf8')).toBe('fake mp4 bytes');
    expect(existsSync(`${target}.part`)).toBe(false);
    expect(s.text()).toContain(`Saved ${target} (2 KB) · lite 720p 5s · seed 4242 · 120000 credits`);
  });
});

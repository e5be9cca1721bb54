/**
 * The Slack surface against the Web API stand-in: the ChatSurface contract, and
 * exactly-once uploads when a crash lands between Slack taking the file and the
 * bot writing that down.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webApi } from '@slack/bolt';
import Keyv from 'keyv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSlackSurface, jobFileKey } from '../../src/surfaces/slack/slack-surface.js';
import { slackRef } from '../../src/surfaces/slack/slack-refs.js';
import { chatSurfaceContract, sampleMessages } from '../surfaces/chat-surface-contract.js';
import { startSlackStandin } from './standin/slack-standin.js';
import type { SlackStandin } from './standin/slack-standin.js';

let standin: SlackStandin;
beforeAll(async () => {
  standin = await startSlackStandin();
});
afterAll(async () => {
  await standin?.close();
});

function surface(kv = new Keyv()) {
  const client = new webApi.WebClient(standin.botToken, { slackApiUrl: `${standin.url}/api/`, retryConfig: { retries: 0 } });
  return { kv, client, surface: createSlackSurface({ client, kv, progressIntervalMs: 1000 }) };
}

chatSurfaceContract('slack', async () => {
  const { surface: s, client } = surface();
  const parent = await client.chat.postMessage({ channel: 'C0GENERAL', text: 'thread parent' });
  return {
    surface: s,
    conversation: slackRef(standin.teamId, 'C0GENERAL', parent.ts),
    async shown(ref) {
      const ts = ref.split(':')[3];
      const m = standin.messages.find((x) => x.ts === ts)!;
      const caption = standin.messages.filter((x) => x.threadTs === m.threadTs && x.files.length).map((x) => x.text).join('\n');
      return `${m.text}\n${JSON.stringify(m.blocks ?? [])}\n${caption}`;
    },
  };
});

describe('Slack uploads', () => {
  it('do not upload a second copy when a retry follows a crash after the upload', async () => {
    const { surface: s, client, kv } = surface();
    const parent = await client.chat.postMessage({ channel: 'C0GENERAL', text: 'a job' });
    const conversation = slackRef(standin.teamId, 'C0GENERAL', parent.ts);
    const dir = mkdtempSync(join(tmpdir(), 'slack-upload-'));
    const path = join(dir, 'v.mp4');
    writeFileSync(path, Buffer.alloc(3000, 9));
    const file = { path, name: 'seedance-4242.mp4', bytes: 3000, contentType: 'video/mp4' as const };
    await s.upload(conversation, file, sampleMessages.video, { idempotencyKey: 'job-crash-1' });
    const uploads = () => standin.calls.filter((c) => c.method === 'files.completeUploadExternal').length;
    const after = uploads();
    // The crash: Slack has the file, but the bot never wrote its id down.
    await kv.delete(jobFileKey('job-crash-1'));
    await s.upload(conversation, file, sampleMessages.video, { idempotencyKey: 'job-crash-1' });
    expect(uploads()).toBe(after);
    expect(await kv.get(jobFileKey('job-crash-1'))).toBe(standin.messages.find((m) => m.threadTs === parent.ts && m.files.length)!.files[0]!.id);
    // A different job in the same thread still uploads.
    await s.upload(conversation, file, sampleMessages.video, { idempotencyKey: 'job-other-2' });
    expect(uploads()).toBe(after + 1);
  });
});

/**
 * The bot's logs never carry a secret, a header, a request body, an interaction
 * or webhook token, or the video itself, and no log line exceeds 16 KB — also on
 * the error paths, where platform clients attach their request (headers, body,
 * files) to the errors they throw.
 *
 * Two worlds run side by side, each the real bot process (src/index.ts) against
 * the provider emulator and one chat stand-in, started with known fake secrets
 * shaped like real ones. Each makes two videos normally, then one (Discord: two)
 * under faults: status polls answered 500 / reset, and on Discord the upload
 * answered 502 (more often than discord.js retries by itself), progress edits
 * reset and an interaction callback answered 500; on Slack the file upload, the
 * upload completion, the message with the buttons and progress edits reset.
 * The video is several MB, as real uploads are, so an error that carries the
 * upload shows up as a huge line. Then every captured line is scanned.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STANDIN_IDS, startDiscordStandin } from '../discord/standin/discord-standin.js';
import type { DiscordStandin, StandinMessage } from '../discord/standin/discord-standin.js';
import { startProviderEmulator } from '../emulator/provider-emulator.js';
import type { ChaosFn as EmulatorChaosFn, ProviderEmulator } from '../emulator/provider-emulator.js';
import { baseBotEnv, botProcess } from '../helpers/bot-process.js';
import type { BotProcess } from '../helpers/bot-process.js';
import { base64Forms, byteForms, findLongLines, findNeedles, findPatterns, formatFindings, lineInfo, logLines, secretNeedles } from '../helpers/log-scan.js';
import type { Finding, Needle, PatternNeedle } from '../helpers/log-scan.js';
import { createSlackSender } from '../slack/standin/slack-signer.js';
import type { SlackSender } from '../slack/standin/slack-signer.js';
import { startSlackStandin } from '../slack/standin/slack-standin.js';
import type { SlackStandin } from '../slack/standin/slack-standin.js';

const MAX_LINE_BYTES = 16 * 1024;
const STRING = 3;
const GENERAL_DISCORD = STANDIN_IDS.general;
const GENERAL_SLACK = 'C0GENERAL';

/** Fake secrets, shaped like the real ones (so token-shape masking is exercised as well as exact matching). */
const SECRETS = {
  // Discord: base64(bot user id) . timestamp . HMAC.
  DISCORD_TOKEN: `${Buffer.from(STANDIN_IDS.bot).toString('base64url')}.GxLg5T.fAk3-d1sC0rd_t0k3n-HmAc-9f8e7d6c5b4a3`,
  SLACK_BOT_TOKEN: 'xoxb-2718281828459-3141592653589-FakeSlackB0tT0kenQwErTyUi',
  SLACK_SIGNING_SECRET: '5f1e9d3c7b2a8e4f6d0c9b8a7e6f5d4c',
  AIMLAPI_KEY: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
  SEGMIND_API_KEY: 'SG_fa4e5e6d7c8b9a01',
} as const;

/** tiny.mp4 followed by a `free` box of random bytes: a 5 MB "MP4", as big as real uploads are. */
const TINY = readFileSync(new URL('../fixtures/tiny.mp4', import.meta.url));
const VIDEO = (() => {
  const total = 5 * 1024 * 1024;
  const box = Buffer.alloc(total - TINY.length);
  box.writeUInt32BE(box.length, 0);
  box.write('free', 4, 'latin1');
  randomBytes(box.length - 8).copy(box, 8);
  return Buffer.concat([TINY, box]);
})();
const MIDDLE = VIDEO.subarray(3 * 1_000_000, 3 * 1_000_000 + 48);

// ---------------------------------------------------------------------------------------------------------------
// What must not appear

const secretNeedleList: Needle[] = Object.entries(SECRETS).flatMap(([name, value]) => secretNeedles(name, value));

const videoNeedles: Needle[] = [
  ...base64Forms(VIDEO.subarray(0, 64)).map((value) => ({ label: 'MP4 bytes (first 64 bytes as base64)', value })),
  ...base64Forms(MIDDLE).map((value) => ({ label: 'MP4 bytes (48 bytes from the middle as base64)', value })),
  ...byteForms(VIDEO.subarray(0, 16)).map((value, i) => ({ label: `MP4 bytes (first 16 bytes as ${['a Buffer JSON array', 'inspect hex', 'hex'][i]})`, value })),
  ...byteForms(MIDDLE.subarray(0, 16)).map((value, i) => ({ label: `MP4 bytes (16 bytes from the middle as ${['a Buffer JSON array', 'inspect hex', 'hex'][i]})`, value })),
];
const videoPatterns: PatternNeedle[] = [
  { label: 'raw MP4 box marker', re: /ftypisom/ },
  { label: 'raw binary (a run of U+FFFD)', re: /\uFFFD{4,}/ },
  { label: 'a serialized Buffer', re: /"type"\s*:\s*"Buffer"\s*,\s*"data"\s*:\s*\[/ },
];

const MASKED = String.raw`["']?(?:\[redacted\]|\*{3}|\[filtered\])["']?`;
const headerPatterns: PatternNeedle[] = [
  { label: 'an Authorization header', re: new RegExp(String.raw`\bauthorization\b["']?\s*[:=]\s*(?!${MASKED})`, 'i') },
  { label: 'an x-api-key header', re: new RegExp(String.raw`\bx-api-key\b["']?\s*[:=]\s*(?!${MASKED})`, 'i') },
  { label: 'a Bearer credential', re: /\bBearer\s+(?![*[])[^\s"',}]{8,}/ },
  { label: 'a Bot credential', re: /\bBot\s+[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{16,}/ },
  { label: 'a Slack token-shaped string', re: /\bx(?:ox[a-z]|app)-\d[A-Za-z0-9-]{8,}/ },
  { label: 'a headers object', re: /"headers"\s*:\s*\{\s*"[^"]+"\s*:/ },
  { label: "discord.js's User-Agent (a request dump)", re: /DiscordBot \(https:\/\/discord\.js\.org/ },
  { label: "@slack/web-api's User-Agent (a request dump)", re: /@slack:web-api\/\d/ },
];
const bodyPatterns: PatternNeedle[] = [
  { label: 'a multipart part header', re: /content-disposition:\s*form-data/i },
  { label: 'a multipart boundary', re: /-{2,}(?:formdata-undici-\d|WebKitFormBoundary|axios-?\w*boundary)|-{20,}[0-9a-f]{24}\b/i },
  { label: 'a multipart Content-Type', re: /multipart\/form-data;\s*boundary=/i },
  { label: "a form-data object (axios' request data)", re: /"_boundary"\s*:/ },
  { label: 'a multipart field name', re: /\bname=\\?"(?:files\[\d+\]|payload_json|file)\\?"/ },
  { label: "discord.js's requestBody", re: /"requestBody"\s*:/ },
  { label: 'the Discord upload JSON (enforce_nonce)', re: /"enforce_nonce"\s*:/ },
  { label: 'a form-encoded Slack request body', re: /\b(?:channel|channel_id|thread_ts|ts)=[A-Za-z0-9.%]+&/ },
];
const tokenPatterns: PatternNeedle[] = [
  { label: 'an interaction token in a URL', re: /\/interactions\/\d{15,}\/(?!\*{3})[A-Za-z0-9_:.-]{20,}/ },
  { label: 'a webhook token in a URL', re: /\/webhooks\/\d{15,}\/(?!\*{3})[A-Za-z0-9_:.-]{20,}/ },
];

// ---------------------------------------------------------------------------------------------------------------
// The runs

interface Evidence {
  label: string;
  ok: boolean;
  detail: string;
}

interface Run {
  name: string;
  output: string;
  /** Interaction / webhook tokens handed to the bot. */
  tokens: Needle[];
  /** Problems while driving the scenario (timeouts); the scan still runs on what was logged. */
  notes: string[];
  evidence: Evidence[];
  close(): Promise<void>;
}

/** Runs `fn`, turning a failure into a note instead of aborting the scenario. */
async function step<T>(notes: string[], label: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    notes.push(`${label}: ${(err as Error).message.split('\n').slice(0, 6).join('\n')}`);
    return undefined;
  }
}

async function stopGently(bot: BotProcess): Promise<void> {
  await Promise.race([bot.stop('SIGTERM'), sleep(5000)]);
  await bot.stop('SIGKILL');
}

function emulatorFor(): Promise<ProviderEmulator> {
  return startProviderEmulator({ aimlapiKeys: [SECRETS.AIMLAPI_KEY], segmindKeys: [SECRETS.SEGMIND_API_KEY], videoBytes: VIDEO, renderMs: () => 400 });
}

function providerEnv(emulator: ProviderEmulator, dataDir: string): Record<string, string> {
  return {
    ...baseBotEnv(emulator, dataDir),
    AIMLAPI_KEY: SECRETS.AIMLAPI_KEY,
    SEGMIND_API_KEY: SECRETS.SEGMIND_API_KEY,
    SEGMIND_BASE_URL: emulator.segmindUrl,
  };
}

/** Status polls of a job: the first answered 500, the second reset; the first download of a job 503 (when asked). */
function providerChaos(opts: { failDownloads: boolean }): EmulatorChaosFn {
  const polls = new Map<string, number>();
  const downloads = new Set<string>();
  return (req) => {
    if (req.kind === 'poll') {
      const n = (polls.get(req.path) ?? 0) + 1;
      polls.set(req.path, n);
      if (n === 1) return { kind: 'status', status: 500 };
      if (n === 2) return { kind: 'reset' };
    }
    if (opts.failDownloads && req.kind === 'download' && !downloads.has(req.pathname)) {
      downloads.add(req.pathname);
      return { kind: 'status', status: 503 };
    }
    return undefined;
  };
}

const warnLines = (output: string) =>
  logLines(output)
    .map((l) => lineInfo(l))
    .filter((i) => (i.level ?? 0) >= 40)
    .map((i) => i.msg ?? '');

function expectLog(output: string, label: string, re: RegExp): Evidence {
  const msgs = warnLines(output);
  const hit = msgs.find((m) => re.test(m));
  return { label, ok: hit !== undefined, detail: hit !== undefined ? `logged "${hit}"` : `no warn/error line matching ${String(re)}; warn/error messages seen: ${JSON.stringify([...new Set(msgs)])}` };
}

function expectCount(label: string, n: number, min: number): Evidence {
  return { label, ok: n >= min, detail: `${n} (need at least ${min})` };
}

async function discordRun(): Promise<Run> {
  const notes: string[] = [];
  const tokens: Needle[] = [];
  const emulator = await emulatorFor();
  const discord: DiscordStandin = await startDiscordStandin({
    token: SECRETS.DISCORD_TOKEN,
    guilds: [{ id: STANDIN_IDS.guild, name: 'Test Guild', channels: [{ id: STANDIN_IDS.general, name: 'general' }, { id: STANDIN_IDS.second, name: 'second' }] }],
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'seedance-logs-discord-'));
  const bot = botProcess();
  const close = async () => {
    await bot.stop('SIGKILL');
    await discord.close();
    await emulator.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  const evidence: Evidence[] = [];
  try {
    await bot.start({
      ...providerEnv(emulator, dataDir),
      DISCORD_TOKEN: SECRETS.DISCORD_TOKEN,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: `${discord.url}/api`,
      DISCORD_PROGRESS_INTERVAL_MS: '200',
    });
  } catch (err) {
    notes.push(`the bot did not start: ${(err as Error).message.slice(0, 2000)}`);
    const output = bot.output();
    await close();
    return { name: 'discord', output, tokens, notes, evidence, close: async () => {} };
  }

  const video = (prompt: string, userId: string = STANDIN_IDS.alice) => {
    const r = discord.slashCommand({ name: 'video', options: [{ name: 'prompt', type: STRING, value: prompt }], userId, channelId: GENERAL_DISCORD });
    tokens.push({ label: `Discord interaction token (interaction ${r.id}, "${prompt}")`, value: r.token });
    return r;
  };
  const progressOf = (id: string) => discord.waitFor(() => discord.interactionResponses.get(id)?.messageId, 10_000);
  const videoFor = (progressId: string): StandinMessage | undefined =>
    [...discord.messages.values()].find((m) => m.messageReference?.message_id === progressId && m.attachments.some((a) => a.filename.endsWith('.mp4')));

  // Two videos the normal way.
  const normal = [video('a calm lake at dawn'), video('a red kite over the hills', STANDIN_IDS.bob)];
  await Promise.all(
    normal.map(async (r, i) => {
      const progress = await step(notes, `normal video ${i + 1}: interaction reply`, () => progressOf(r.id));
      if (progress) await step(notes, `normal video ${i + 1}: delivery`, () => discord.waitFor(() => videoFor(progress), 20_000));
    }),
  );

  // Then under faults.
  emulator.setChaos(providerChaos({ failDownloads: true }));
  const doomed = video('a lighthouse in fog', STANDIN_IDS.bob);
  // Synchronously after dispatch, so before the bot's callback can arrive: more 500s than discord.js retries.
  discord.addFault({ method: 'POST', pathIncludes: `/interactions/${doomed.id}/`, status: 500, times: 4 });
  const faulted = video('a storm over the sea');
  const progress = await step(notes, 'faulted video: interaction reply', () => progressOf(faulted.id));
  let uploadFailures = 10; // 4 tries per attempt in discord.js: two failed delivery attempts, the third succeeds
  let editResets = 6;
  discord.setChaos((req) => {
    if (progress && req.method === 'PATCH' && req.path === `/channels/${GENERAL_DISCORD}/messages/${progress}` && editResets-- > 0) return { reset: true };
    const isUpload = req.method === 'POST' && req.path === `/channels/${GENERAL_DISCORD}/messages` && typeof req.body === 'object' && req.body !== null && 'nonce' in req.body;
    if (isUpload && uploadFailures-- > 0) return { status: 502, body: { message: '502: Bad Gateway', code: 0 } };
    return undefined;
  });
  if (progress) await step(notes, 'faulted video: delivery', () => discord.waitFor(() => videoFor(progress), 35_000));
  await sleep(800); // trailing edits and their logs
  await stopGently(bot);
  const output = bot.output();

  const faultedCalls = (pred: (c: (typeof discord.calls)[number]) => boolean) => discord.calls.filter((c) => c.fault !== undefined && pred(c)).length;
  evidence.push(
    expectCount('uploads answered 502', faultedCalls((c) => c.method === 'POST' && c.path === `/channels/${GENERAL_DISCORD}/messages` && c.fault?.status === 502), 8),
    expectCount('progress edits reset', faultedCalls((c) => c.method === 'PATCH' && c.fault?.reset === true), 1),
    expectCount('interaction callbacks answered 500', faultedCalls((c) => c.path.startsWith(`/interactions/${doomed.id}/`)), 4),
    expectCount('status polls faulted', emulator.count({ kind: 'poll', faulted: true }), 2),
    expectCount('videos delivered', [...discord.messages.values()].filter((m) => m.attachments.some((a) => a.filename.endsWith('.mp4'))).length, 3),
    expectLog(output, 'a warn/error line about the failed upload/delivery', /deliver|upload/i),
    expectLog(output, 'a warn/error line about the failed status check', /status|poll/i),
    // The callback failing is the reply failing: the job can't show its progress message.
    expectLog(output, 'a warn/error line about the failed interaction reply', /interaction|first message|start the job/i),
  );
  return { name: 'discord', output, tokens, notes, evidence, close };
}

async function slackRun(): Promise<Run> {
  const notes: string[] = [];
  const tokens: Needle[] = [];
  const emulator = await emulatorFor();
  const slack: SlackStandin = await startSlackStandin({ botToken: SECRETS.SLACK_BOT_TOKEN });
  const dataDir = mkdtempSync(join(tmpdir(), 'seedance-logs-slack-'));
  const bot = botProcess();
  const close = async () => {
    await bot.stop('SIGKILL');
    await slack.close();
    await emulator.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  const evidence: Evidence[] = [];
  let send: SlackSender;
  try {
    await bot.start({
      ...providerEnv(emulator, dataDir),
      SLACK_BOT_TOKEN: SECRETS.SLACK_BOT_TOKEN,
      SLACK_SIGNING_SECRET: SECRETS.SLACK_SIGNING_SECRET,
      SLACK_API_URL: `${slack.url}/api/`,
      SLACK_FILE_HOSTS: '127.0.0.1',
      SLACK_PROGRESS_INTERVAL_MS: '200',
      PORT: '0',
    });
    const port = [...bot.output().matchAll(/"port":(\d+)[^\n]*connected to Slack/g)].at(-1)?.[1];
    if (!port) throw new Error(`no Slack port in the log:\n${bot.output().slice(-3000)}`);
    send = createSlackSender({ url: `http://127.0.0.1:${port}`, signingSecret: SECRETS.SLACK_SIGNING_SECRET, teamId: slack.teamId, botUserId: slack.botUserId, responseUrlBase: slack.url });
  } catch (err) {
    notes.push(`the bot did not start: ${(err as Error).message.slice(0, 2000)}`);
    const output = bot.output();
    await close();
    return { name: 'slack', output, tokens, notes, evidence, close: async () => {} };
  }

  const video = async (prompt: string, userId: string) => {
    // A response_url with a token of its own, as Slack's are (hooks.slack.com/commands/T…/…/<token>).
    const token = `rsp${randomBytes(18).toString('hex')}`;
    tokens.push({ label: `Slack response_url token ("${prompt}")`, value: token });
    const res = await send.command({ command: '/video', text: prompt, userId, channelId: GENERAL_SLACK, responseUrl: `${slack.url}/hooks/response/${GENERAL_SLACK}/${userId}/-/${token}` });
    if (res.status !== 200) throw new Error(`/video answered ${res.status}: ${res.body}`);
    return slack.waitFor(() => slack.messages.find((m) => m.channel === GENERAL_SLACK && m.user === slack.botUserId && !m.threadTs && m.history[0]!.text.includes(prompt)), 10_000);
  };
  const videoIn = (thread: string) => slack.messages.find((m) => m.channel === GENERAL_SLACK && m.threadTs === thread && m.files.some((f) => f.name.endsWith('.mp4')));

  // Two videos the normal way.
  await Promise.all(
    [['a calm lake at dawn', 'U0ALICE'], ['a red kite over the hills', 'U0BOB']].map(async ([prompt, user], i) => {
      const progress = await step(notes, `normal video ${i + 1}: progress message`, () => video(prompt!, user!));
      if (progress) await step(notes, `normal video ${i + 1}: delivery`, () => slack.waitFor(() => videoIn(progress.ts), 20_000));
    }),
  );

  // Then under faults: once the progress message is up, connections reset for a while.
  emulator.setChaos(providerChaos({ failDownloads: false }));
  const progress = await step(notes, 'faulted video: progress message', () => video('a storm over the sea', 'U0ALICE'));
  const resets: Record<string, number> = { 'chat.update': 3, UPLOAD: 1, 'files.completeUploadExternal': 1, 'chat.postMessage': 1 };
  slack.setChaos((req) => {
    const left = resets[req.method];
    if (left === undefined || left <= 0) return undefined;
    resets[req.method] = left - 1;
    return { reset: true };
  });
  if (progress) await step(notes, 'faulted video: delivery', () => slack.waitFor(() => videoIn(progress.ts), 35_000));
  await sleep(800);
  await stopGently(bot);
  const output = bot.output();

  const reset = (method: string) => slack.calls.filter((c) => c.method === method && c.fault?.reset === true).length;
  evidence.push(
    expectCount('chat.update reset', reset('chat.update'), 1),
    expectCount('file uploads (upload URL POST) reset', reset('UPLOAD'), 1),
    expectCount('files.completeUploadExternal reset', reset('files.completeUploadExternal'), 1),
    expectCount('chat.postMessage reset', reset('chat.postMessage'), 1),
    expectCount('status polls faulted', emulator.count({ kind: 'poll', faulted: true }), 2),
    expectCount('videos delivered', slack.messages.filter((m) => m.files.some((f) => f.name.endsWith('.mp4'))).length, 3),
    expectLog(output, 'a warn/error line about the failed upload/delivery', /deliver|upload/i),
    expectLog(output, 'a warn/error line about the failed progress edit', /progress|edit|update/i),
    expectLog(output, 'a warn/error line about the failed status check', /status|poll/i),
  );
  return { name: 'slack', output, tokens, notes, evidence, close };
}

// ---------------------------------------------------------------------------------------------------------------
// The checks

const runs = new Map<string, Run>();

beforeAll(async () => {
  const [d, s] = await Promise.all([discordRun(), slackRun()]);
  runs.set('discord', d);
  runs.set('slack', s);
  // LOG_SECRETS_DUMP=<dir> keeps what each bot printed, to look at the offending lines whole.
  const dump = process.env.LOG_SECRETS_DUMP;
  if (dump) {
    mkdirSync(dump, { recursive: true });
    for (const r of [d, s]) writeFileSync(join(dump, `${r.name}.log`), r.output);
  }
}, 85_000);

afterAll(async () => {
  await Promise.all([...runs.values()].map((r) => r.close()));
});

function check(name: string, what: string, findings: Finding[]): void {
  expect(findings.length, `${name}: ${formatFindings(what, findings)}`).toBe(0);
}

for (const name of ['discord', 'slack']) {
  describe(`${name} world`, () => {
    const run = () => runs.get(name)!;
    const lines = () => logLines(run().output);

    it('exercised the error paths (so a clean scan means something)', () => {
      const r = run();
      const failed = r.evidence.filter((e) => !e.ok);
      const message = [
        ...r.notes.map((n) => `scenario: ${n}`),
        ...failed.map((e) => `missing evidence: ${e.label}: ${e.detail}`),
        `(${lines().length} output lines, ${r.output.length} characters)`,
      ].join('\n');
      expect(r.notes.length + failed.length, message).toBe(0);
      expect(r.evidence.length).toBeGreaterThan(0);
    });

    it('logs none of the configured secrets, in any form', () => {
      check(name, 'secrets in the log', findNeedles(lines(), secretNeedleList));
    });

    it('logs no interaction or webhook token', () => {
      const r = run();
      expect(r.tokens.length).toBeGreaterThan(0);
      check(name, 'interaction/webhook tokens in the log', [...findNeedles(lines(), r.tokens), ...findPatterns(lines(), tokenPatterns)]);
    });

    it('logs no authorization or other request headers', () => {
      check(name, 'headers in the log', findPatterns(lines(), headerPatterns));
    });

    it('logs no request body and no multipart form', () => {
      check(name, 'request bodies in the log', findPatterns(lines(), bodyPatterns));
    });

    it('logs no MP4 bytes', () => {
      check(name, 'video bytes in the log', [...findNeedles(lines(), videoNeedles), ...findPatterns(lines(), videoPatterns)]);
    });

    it(`writes no line over ${MAX_LINE_BYTES} bytes`, () => {
      check(name, 'over-long lines', findLongLines(lines(), MAX_LINE_BYTES));
    });
  });
}

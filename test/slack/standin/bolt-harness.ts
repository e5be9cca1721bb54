// Test harness: the stand-in + an unmodified Bolt App in HTTP mode on 127.0.0.1 + a signed sender.
import type { AddressInfo } from 'node:net';
import { App, LogLevel } from '@slack/bolt';
import type { AppOptions, Logger } from '@slack/bolt';
import { createSlackSender } from './slack-signer.js';
import type { SlackSender } from './slack-signer.js';
import { startSlackStandin } from './slack-standin.js';
import type { SlackStandin, SlackStandinOptions } from './slack-standin.js';

export const SIGNING_SECRET = 'standin-signing-secret';

export interface BoltHarness {
  standin: SlackStandin;
  app: App;
  sender: SlackSender;
  /** http://127.0.0.1:PORT of the Bolt receiver. */
  boltUrl: string;
  /** Lines Bolt logged at warn/error level. */
  logs: string[];
  /** Errors that reached app.error. */
  errors: unknown[];
  stop(): Promise<void>;
}

/** A Logger that keeps warnings and errors instead of printing them. */
export function capturingLogger(lines: string[]): Logger {
  let level = LogLevel.WARN;
  const keep = (tag: string) => (...msg: unknown[]) => void lines.push(`${tag} ${msg.map((m) => (m instanceof Error ? m.message : String(m))).join(' ')}`);
  return {
    debug: () => undefined,
    info: () => undefined,
    warn: keep('WARN'),
    error: keep('ERROR'),
    setLevel: (l: LogLevel) => void (level = l),
    getLevel: () => level,
    setName: () => undefined,
  };
}

export async function startHarness(p: { standin?: SlackStandinOptions; app?: Partial<AppOptions> } = {}): Promise<BoltHarness> {
  const standin = await startSlackStandin(p.standin);
  const logs: string[] = [];
  const errors: unknown[] = [];
  const app = new App({
    token: standin.botToken,
    signingSecret: SIGNING_SECRET,
    logger: capturingLogger(logs),
    ...p.app,
    clientOptions: { slackApiUrl: `${standin.url}/api/`, retryConfig: { retries: 0 }, ...p.app?.clientOptions },
  });
  app.error(async (e) => {
    errors.push(e);
  });
  const server = await app.start({ port: 0, host: '127.0.0.1' });
  const { port } = server.address() as AddressInfo;
  const boltUrl = `http://127.0.0.1:${port}`;
  const sender = createSlackSender({ url: boltUrl, signingSecret: SIGNING_SECRET, responseUrlBase: standin.url });
  return {
    standin,
    app,
    sender,
    boltUrl,
    logs,
    errors,
    async stop() {
      await app.stop().catch(() => undefined);
      await standin.close();
    },
  };
}

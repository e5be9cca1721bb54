// Test helper: a real discord.js client logged in to a fresh stand-in.
import { Client, GatewayIntentBits, Partials } from 'discord.js';
import type { ClientEvents } from 'discord.js';
import { startDiscordStandin } from './discord-standin.js';
import type { DiscordStandin, StandinOptions } from './discord-standin.js';

export interface Harness {
  standin: DiscordStandin;
  client: Client;
  /** Errors the client emitted on 'error' (a stand-in 404 would otherwise kill the process). */
  errors: Error[];
  close(): Promise<void>;
}

export const DEFAULT_INTENTS = [
  GatewayIntentBits.Guilds,
  GatewayIntentBits.GuildMessages,
  GatewayIntentBits.DirectMessages,
  GatewayIntentBits.MessageContent,
];

export function makeClient(standin: DiscordStandin, opts: { intents?: number[]; partials?: Partials[] } = {}): { client: Client; errors: Error[] } {
  const client = new Client({
    intents: opts.intents ?? DEFAULT_INTENTS,
    partials: opts.partials ?? [Partials.Channel],
    rest: { api: `${standin.url}/api`, retries: 0, timeout: 2000 },
  });
  const errors: Error[] = [];
  client.on('error', (err) => errors.push(err));
  return { client, errors };
}

export async function startHarness(opts: StandinOptions & { intents?: number[]; partials?: Partials[] } = {}): Promise<Harness> {
  const standin = await startDiscordStandin(opts);
  const { client, errors } = makeClient(standin, opts);
  const ready = new Promise<void>((resolve) => client.once('clientReady', () => resolve()));
  await client.login(standin.token);
  await ready;
  return {
    standin,
    client,
    errors,
    async close() {
      await client.destroy();
      await standin.close();
    },
  };
}

/** Resolves with the next `event` whose args pass `filter`. */
export function nextEvent<K extends keyof ClientEvents>(
  client: Client,
  event: K,
  filter: (...args: ClientEvents[K]) => boolean = () => true,
  timeoutMs = 5000,
): Promise<ClientEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off(event, listener);
      reject(new Error(`no '${String(event)}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (...args: ClientEvents[K]): void => {
      if (!filter(...args)) return;
      clearTimeout(timer);
      client.off(event, listener);
      resolve(args);
    };
    client.on(event, listener);
  });
}

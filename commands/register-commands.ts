/**
 * `npm run register-commands [-- --guild <id>]`: registers /video, Apps > Animate
 * and /video-admin with Discord, globally or (instantly, for testing) in one server.
 * Uses DISCORD_TOKEN, DISCORD_APPLICATION_ID and DISCORD_API_URL from the env or .env.
 */
import { parseArgs } from 'node:util';
import { REST } from '@discordjs/rest';
import { Routes } from 'discord.js';
import { loadCatalogue } from '../src/app.js';
import { loadConfig, requireProvider } from '../src/config.js';
import { ConfigError } from '../src/core/errors.js';
import { loadDotEnv } from '../src/env-file.js';
import { discordCommands } from './discord-commands.js';

async function main(): Promise<void> {
  loadDotEnv();
  const { values } = parseArgs({ options: { guild: { type: 'string', short: 'g' } } });
  const config = loadConfig(process.env);
  requireProvider(config);
  if (!config.DISCORD_TOKEN || !config.DISCORD_APPLICATION_ID) throw new ConfigError(['DISCORD_TOKEN and DISCORD_APPLICATION_ID are needed to register commands']);
  const catalogue = await loadCatalogue(config);
  const body = discordCommands(catalogue, { allowDms: config.DISCORD_ALLOW_DMS });
  const rest = new REST({ api: config.DISCORD_API_URL }).setToken(config.DISCORD_TOKEN);
  const route = values.guild ? Routes.applicationGuildCommands(config.DISCORD_APPLICATION_ID, values.guild) : Routes.applicationCommands(config.DISCORD_APPLICATION_ID);
  const saved = (await rest.put(route, { body })) as { name: string }[];
  const where = values.guild ? `in server ${values.guild}` : 'globally';
  process.stdout.write(`Registered ${saved.length} commands ${where}: ${saved.map((c) => c.name).join(', ')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`error: ${err instanceof ConfigError ? err.problems.join('; ') : (err as Error).message}\n`);
  process.exit(1);
});

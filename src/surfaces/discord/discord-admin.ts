/**
 * /video-admin and /video-usage: Discord's subcommands mapped onto the use
 * cases' admin settings and usage. The command's default_member_permissions
 * hides /video-admin from most members, but a server can override that, so the
 * rights come from the interaction's member permissions (discordActor).
 */
import type { ChatInputCommandInteraction } from 'discord.js';
import { MessageFlags } from 'discord.js';
import type { AdminCommand, VideoUseCases } from '../../usecases/video-use-cases.js';
import { describeSettings, describeUsage } from '../../usecases/video-use-cases.js';
import { discordActor, discordWhere } from './discord-start-job.js';

function command(i: ChatInputCommandInteraction): AdminCommand {
  const o = i.options;
  switch (o.getSubcommand()) {
    case 'channel-add':
      return { kind: 'channel-add', channel: o.getChannel('channel', true).id };
    case 'channel-remove':
      return { kind: 'channel-remove', channel: o.getChannel('channel', true).id };
    case 'channels-clear':
      return { kind: 'channels-clear' };
    case 'daily-limit':
      return { kind: 'daily-limit', limit: o.getInteger('limit', true) };
    case 'default-model':
      return { kind: 'default-model', model: o.getString('model', true) };
    case 'default-resolution':
      return { kind: 'default-resolution', resolution: o.getString('resolution', true) };
    default:
      return { kind: 'show' };
  }
}

export async function handleAdmin(i: ChatInputCommandInteraction, useCases: VideoUseCases): Promise<void> {
  const where = discordWhere(i.guildId, i.channelId);
  const settings = await useCases.admin(discordActor(i), where, command(i));
  await i.reply({ content: describeSettings(settings, where.place?.label ?? 'this server'), flags: MessageFlags.Ephemeral });
}

export async function handleUsage(i: ChatInputCommandInteraction, useCases: VideoUseCases): Promise<void> {
  const usage = await useCases.usage(discordActor(i), discordWhere(i.guildId, i.channelId));
  await i.reply({ content: describeUsage(usage), flags: MessageFlags.Ephemeral });
}

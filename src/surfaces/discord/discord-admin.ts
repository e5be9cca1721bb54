/**
 * /video-admin: per-server settings. The command's default_member_permissions
 * hides it from most members, but a server can override that, so the bot checks
 * Manage Server itself on the interaction's member permissions.
 */
import type { ChatInputCommandInteraction } from 'discord.js';
import { MessageFlags, PermissionFlagsBits } from 'discord.js';
import type { Catalogue } from '../../core/catalogue.js';
import type { GuildSettings, GuildSettingsStore } from './guild-settings.js';

function describe(s: GuildSettings): string {
  const channels = s.channels.length ? s.channels.map((c) => `<#${c}>`).join(', ') : 'every channel';
  return [
    `**Channels:** ${channels}`,
    `**Daily limit per member:** ${s.dailyLimit > 0 ? s.dailyLimit : 'none'}`,
    `**Default model:** ${s.defaultModel ?? 'bot default'}`,
    `**Default resolution:** ${s.defaultResolution ?? 'bot default'}`,
  ].join('\n');
}

export async function handleAdmin(i: ChatInputCommandInteraction, store: GuildSettingsStore, catalogue: Catalogue): Promise<void> {
  if (!i.guildId) {
    await i.reply({ content: 'Settings apply to a server; use this command there.', flags: MessageFlags.Ephemeral });
    return;
  }
  if (!i.memberPermissions?.has(PermissionFlagsBits.ManageGuild)) {
    await i.reply({ content: "⚠️ Changing the bot's settings needs the **Manage Server** permission in this server.", flags: MessageFlags.Ephemeral });
    return;
  }
  const current = await store.get(i.guildId);
  let next = current;
  switch (i.options.getSubcommand()) {
    case 'channel-add': {
      const id = i.options.getChannel('channel', true).id;
      next = await store.update(i.guildId, { channels: [...new Set([...current.channels, id])] });
      break;
    }
    case 'channel-remove': {
      const id = i.options.getChannel('channel', true).id;
      next = await store.update(i.guildId, { channels: current.channels.filter((c) => c !== id) });
      break;
    }
    case 'channels-clear':
      next = await store.update(i.guildId, { channels: [] });
      break;
    case 'daily-limit':
      next = await store.update(i.guildId, { dailyLimit: i.options.getInteger('limit', true) });
      break;
    case 'default-model': {
      const model = i.options.getString('model', true);
      if (!catalogue.aliases().includes(model)) {
        await i.reply({ content: `⚠️ Unknown model "${model}"; choose ${catalogue.aliases().join(' or ')}.`, flags: MessageFlags.Ephemeral });
        return;
      }
      next = await store.update(i.guildId, { defaultModel: model });
      break;
    }
    case 'default-resolution':
      next = await store.update(i.guildId, { defaultResolution: i.options.getString('resolution', true) });
      break;
    default:
      break;
  }
  await i.reply({ content: `Video settings for this server:\n${describe(next)}`, flags: MessageFlags.Ephemeral });
}

/**
 * Per-server settings an admin changes with /video-admin, in the shared keyv
 * store. (Daily usage is counted by the job store, atomically with admission.)
 */
import type Keyv from 'keyv';

export interface GuildSettings {
  /** Channels where /video may be used; empty = everywhere. */
  channels: string[];
  /** Videos per member per UTC day; 0 = no limit. */
  dailyLimit: number;
  defaultModel?: string;
  defaultResolution?: string;
}

export const DEFAULT_SETTINGS: GuildSettings = { channels: [], dailyLimit: 0 };

export function createGuildSettings(kv: Keyv) {
  const key = (guildId: string) => `discord:guild:${guildId}`;
  return {
    async get(guildId: string | null | undefined): Promise<GuildSettings> {
      if (!guildId) return DEFAULT_SETTINGS;
      return { ...DEFAULT_SETTINGS, ...((await kv.get<GuildSettings>(key(guildId))) ?? {}) };
    },
    async update(guildId: string, patch: Partial<GuildSettings>): Promise<GuildSettings> {
      const next = { ...(await this.get(guildId)), ...patch };
      await kv.set(key(guildId), next);
      return next;
    },
  };
}
export type GuildSettingsStore = ReturnType<typeof createGuildSettings>;

/**
 * Per-server settings an admin changes with /video-admin, and per-user daily
 * usage counters, in the shared keyv store.
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

const DAY_MS = 86_400_000;

export function createGuildSettings(kv: Keyv, now: () => number = Date.now) {
  const key = (guildId: string) => `discord:guild:${guildId}`;
  const usageKey = (guildId: string, userId: string) => `discord:usage:${guildId}:${userId}:${new Date(now()).toISOString().slice(0, 10)}`;
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
    async usedToday(guildId: string, userId: string): Promise<number> {
      return (await kv.get<number>(usageKey(guildId, userId))) ?? 0;
    },
    async countUse(guildId: string, userId: string): Promise<void> {
      const k = usageKey(guildId, userId);
      await kv.set(k, ((await kv.get<number>(k)) ?? 0) + 1, 2 * DAY_MS);
    },
  };
}
export type GuildSettingsStore = ReturnType<typeof createGuildSettings>;

/**
 * Settings an admin changes for a place (a Discord server, a Slack workspace):
 * where videos may be made, a daily limit per member, default model and
 * resolution. Kept in the shared keyv store under the place's key
 * (`discord:guild:<id>`, `slack:team:<id>`), the same key admission counts the
 * place's daily usage under. (Daily usage itself is counted by the job store.)
 */
import type Keyv from 'keyv';

export interface PlaceSettings {
  /** Channels where videos may be made; empty = everywhere. */
  channels: string[];
  /** Videos per member per UTC day; 0 = no limit. */
  dailyLimit: number;
  defaultModel?: string;
  defaultResolution?: string;
}

export const DEFAULT_SETTINGS: PlaceSettings = { channels: [], dailyLimit: 0 };

export interface PlaceSettingsStore {
  get(placeKey: string | undefined): Promise<PlaceSettings>;
  update(placeKey: string, patch: Partial<PlaceSettings>): Promise<PlaceSettings>;
}

export function createPlaceSettings(kv: Keyv): PlaceSettingsStore {
  return {
    async get(placeKey) {
      if (!placeKey) return DEFAULT_SETTINGS;
      return { ...DEFAULT_SETTINGS, ...((await kv.get<PlaceSettings>(placeKey)) ?? {}) };
    },
    async update(placeKey, patch) {
      const next = { ...(await this.get(placeKey)), ...patch };
      if (patch.defaultModel === undefined && 'defaultModel' in patch) delete next.defaultModel;
      if (patch.defaultResolution === undefined && 'defaultResolution' in patch) delete next.defaultResolution;
      await kv.set(placeKey, next);
      return next;
    },
  };
}

// The stand-in's workspace: channels, users, messages, files, views and id/ts generation.
import { SlackApiError } from './api-error.js';
import type { PublishedHomeView, RecordedCall, SlackFileObject, SlackMessage, SlackStandinOptions, StandinFile, ViewRecord } from './types.js';

export const DEFAULT_SCOPES = [
  'app_mentions:read',
  'channels:history',
  'channels:read',
  'chat:write',
  'commands',
  'files:read',
  'files:write',
  'groups:read',
  'im:history',
  'im:read',
  'im:write',
  'users:read',
];

export interface ChannelState {
  id: string;
  name: string;
  isIm: boolean;
  isMember: boolean;
  archived: boolean;
  user?: string;
  created: number;
}

export interface UserState {
  id: string;
  name: string;
  isAdmin: boolean;
  isBot: boolean;
}

export interface PendingUpload {
  id: string;
  filename: string;
  length: number;
  altText?: string;
  data?: Buffer;
}

const MIME: Record<string, string> = {
  mp4: 'video/mp4',
  mov: 'video/quicktime',
  webm: 'video/webm',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  txt: 'text/plain',
  json: 'application/json',
};

export function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}

export function mimeFor(name: string): string {
  return MIME[extensionOf(name)] ?? 'application/octet-stream';
}

export class SlackWorld {
  url = '';
  readonly botToken: string;
  readonly appToken: string;
  readonly appId: string;
  readonly teamId: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly channels = new Map<string, ChannelState>();
  readonly users = new Map<string, UserState>();
  readonly scopes: Set<string>;
  readonly calls: RecordedCall[] = [];
  readonly messages: SlackMessage[] = [];
  readonly views: ViewRecord[] = [];
  readonly viewsById = new Map<string, Record<string, unknown>>();
  /** views.publish calls that succeeded, in order. */
  readonly homeViews: PublishedHomeView[] = [];
  /** Each user's Home view id (one per user, kept across publishes). */
  readonly homeViewIds = new Map<string, string>();
  homeTabEnabled: boolean;
  readonly files = new Map<string, StandinFile>();
  readonly userFiles = new Map<string, StandinFile>();
  readonly pendingUploads = new Map<string, PendingUpload>();
  readonly usedTriggers = new Set<string>();
  readonly responseUrlUses = new Map<string, number>();
  /** Socket Mode tickets handed out by apps.connections.open and not used yet. */
  readonly socketTickets = new Set<string>();
  private counter = 0;
  private readonly epoch = Math.floor(Date.now() / 1000);

  constructor(opts: SlackStandinOptions) {
    this.botToken = opts.botToken ?? 'xoxb-test-token';
    this.appToken = opts.appToken ?? 'xapp-test-token';
    this.appId = opts.appId ?? 'A0STANDIN';
    this.teamId = opts.teamId ?? 'T0000TEST';
    this.botUserId = opts.botUserId ?? 'U0BOT0001';
    this.botId = opts.botId ?? 'B0BOT0001';
    this.scopes = new Set(opts.scopes ?? DEFAULT_SCOPES);
    this.homeTabEnabled = opts.homeTabEnabled ?? true;
    const users = opts.users ?? [
      { id: 'U0ALICE', name: 'alice' },
      { id: 'U0BOB', name: 'bob' },
      { id: 'U0ADMIN', name: 'admin', isAdmin: true },
    ];
    for (const u of users) this.users.set(u.id, { id: u.id, name: u.name, isAdmin: u.isAdmin === true, isBot: false });
    this.users.set(this.botUserId, { id: this.botUserId, name: 'seedance', isAdmin: false, isBot: true });
    const channels = opts.channels ?? [
      { id: 'C0GENERAL', name: 'general', isMember: true },
      { id: 'C0RANDOM', name: 'random', isMember: true },
      { id: 'D0ALICE', name: 'alice', isIm: true, user: 'U0ALICE' },
    ];
    for (const c of channels) {
      const isIm = c.isIm === true;
      this.channels.set(c.id, { id: c.id, name: c.name, isIm, isMember: isIm || c.isMember !== false, archived: false, user: c.user, created: this.epoch });
    }
  }

  /** Monotonic Slack-style message timestamp ("1700000000.000123"). */
  nextTs(): string {
    this.counter += 1;
    return `${this.epoch + Math.floor(this.counter / 1_000_000)}.${String(this.counter % 1_000_000).padStart(6, '0')}`;
  }

  newId(prefix: string): string {
    this.counter += 1;
    return `${prefix}0${this.counter.toString(36).toUpperCase().padStart(8, '0')}`;
  }

  channel(id: string | undefined): ChannelState {
    const c = id === undefined ? undefined : this.channels.get(id);
    if (c === undefined) throw new SlackApiError('channel_not_found');
    return c;
  }

  /** The IM channel with a user, opened on demand. */
  imWith(userId: string): ChannelState {
    if (!this.users.has(userId)) throw new SlackApiError('user_not_found');
    for (const c of this.channels.values()) if (c.isIm && c.user === userId) return c;
    const id = `D${userId.replace(/^[UW]/, '')}`;
    const c: ChannelState = { id, name: userId, isIm: true, isMember: true, archived: false, user: userId, created: Math.floor(Date.now() / 1000) };
    this.channels.set(id, c);
    return c;
  }

  /** A channel the bot may post in: a user id posts to the IM, as Slack does. */
  postable(id: string | undefined): ChannelState {
    const c = id !== undefined && !this.channels.has(id) && this.users.has(id) ? this.imWith(id) : this.channel(id);
    if (c.archived) throw new SlackApiError('is_archived');
    if (!c.isMember) throw new SlackApiError('not_in_channel');
    return c;
  }

  findMessage(channel: string, ts: string): SlackMessage | undefined {
    return this.messages.find((m) => m.channel === channel && m.ts === ts && m.ephemeralTo === undefined);
  }

  addMessage(m: Omit<SlackMessage, 'ts' | 'deleted' | 'history'> & { ts?: string }): SlackMessage {
    const msg: SlackMessage = { ...m, ts: m.ts ?? this.nextTs(), deleted: false, history: [{ at: Date.now(), text: m.text, blocks: m.blocks }] };
    this.messages.push(msg);
    return msg;
  }

  file(id: string): StandinFile | undefined {
    return this.files.get(id) ?? this.userFiles.get(id);
  }

  fileObject(f: StandinFile): SlackFileObject {
    const base = `${this.url}/files-pri/${this.teamId}-${f.id}`;
    const name = encodeURIComponent(f.name);
    const ext = extensionOf(f.name);
    const obj: SlackFileObject = {
      id: f.id,
      created: f.created,
      timestamp: f.created,
      name: f.name,
      title: f.title ?? f.name,
      mimetype: f.mimetype,
      filetype: ext === 'jpeg' ? 'jpg' : ext || 'binary',
      pretty_type: ext.toUpperCase() || 'Binary',
      user: f.user,
      user_team: this.teamId,
      editable: false,
      size: f.size,
      mode: 'hosted',
      is_external: false,
      external_type: '',
      is_public: !f.channels.some((c) => this.channels.get(c)?.isIm === true) && f.channels.length > 0,
      public_url_shared: false,
      display_as_bot: false,
      username: '',
      url_private: `${base}/${name}`,
      url_private_download: `${base}/download/${name}`,
      permalink: `https://standin.slack.com/files/${f.user}/${f.id}/${name}`,
      permalink_public: `https://slack-files.com/${this.teamId}-${f.id}-0000000000`,
    };
    if (f.width !== undefined && f.height !== undefined) {
      obj.original_w = f.width;
      obj.original_h = f.height;
      obj.thumb_360 = `${base}/${f.id}_360.${ext || 'png'}`;
      const scale = Math.min(1, 360 / Math.max(f.width, f.height));
      obj.thumb_360_w = Math.round(f.width * scale);
      obj.thumb_360_h = Math.round(f.height * scale);
    }
    return obj;
  }

  /** The message object Slack returns for a stored message. */
  messageObject(m: SlackMessage): Record<string, unknown> {
    const o: Record<string, unknown> = { type: 'message', user: m.user, ts: m.ts, text: m.text, team: this.teamId };
    if (m.botId !== undefined) {
      o.bot_id = m.botId;
      o.app_id = this.appId;
      o.bot_profile = { id: m.botId, app_id: this.appId, name: 'seedance', deleted: false, team_id: this.teamId };
    }
    if (m.blocks !== undefined) o.blocks = m.blocks;
    if (m.threadTs !== undefined) o.thread_ts = m.threadTs;
    if (m.files.length > 0) {
      o.files = m.files.map((f) => {
        const stored = this.file(f.id);
        return stored === undefined ? { id: f.id, name: f.name } : this.fileObject(stored);
      });
      o.upload = true;
    }
    return o;
  }
}

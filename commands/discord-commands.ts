/**
 * Discord application command definitions, derived from the model catalogue so
 * the choices users see are exactly what validation accepts.
 */
import type { Catalogue } from '../src/core/catalogue.js';
import { PROMPT_MAX_CHARS } from '../src/core/request.js';
import { modelChoiceName } from '../src/surfaces/common/model-facts.js';

export const VIDEO_COMMAND = 'video';
export const ANIMATE_COMMAND = 'Animate';
export const ADMIN_COMMAND = 'video-admin';
export const USAGE_COMMAND = 'video-usage';

const enum T {
  Subcommand = 1,
  String = 3,
  Integer = 4,
  Boolean = 5,
  Channel = 7,
  Attachment = 11,
}
const CHAT_INPUT = 1;
const MESSAGE = 3;
/** Interaction contexts: a server, the bot's DM, a DM or group DM between users. */
const GUILD = 0;
const BOT_DM = 1;
const PRIVATE_CHANNEL = 2;
/** Installs: to a server (the bot joins it), to a user (the commands follow them, the bot joins nothing). */
const GUILD_INSTALL = 0;
const USER_INSTALL = 1;
const MANAGE_GUILD = String(1 << 5);

/** Reference image attachments on /video (`@Image1`…); more come with a message (a mention or Apps > Animate). */
export const REFERENCE_OPTIONS = ['reference_1', 'reference_2', 'reference_3'] as const;

const choices = <V extends string | number>(values: readonly V[], name: (v: V) => string = String) => values.map((v) => ({ name: name(v), value: v }));

/**
 * /video, Apps > Animate and /video-usage work wherever the app is installed, to a server or to a user
 * (where the bot isn't in the channel it answers through the interaction, see discord-reach.ts); DMs and
 * private channels only with DISCORD_ALLOW_DMS. /video-admin is for servers that installed the bot.
 */
export function discordCommands(cat: Catalogue, opts: { allowDms: boolean }) {
  const contexts = opts.allowDms ? [GUILD, BOT_DM, PRIVATE_CHANNEL] : [GUILD];
  const integration_types = [GUILD_INSTALL, USER_INSTALL];
  const seeds = cat.models.map((m) => m.seed);
  const durations = cat.durationBounds();
  const video = {
    type: CHAT_INPUT,
    name: VIDEO_COMMAND,
    description: 'Make a short video from a prompt, or animate an image',
    contexts,
    integration_types,
    options: [
      { type: T.String, name: 'prompt', description: 'What happens in the video', required: true, max_length: PROMPT_MAX_CHARS },
      { type: T.Attachment, name: 'image', description: 'First frame: animates this image (image-to-video)' },
      ...(cat.models.some((m) => m.lastFrame) ? [{ type: T.Attachment, name: 'last_frame', description: 'Last frame (needs a first frame)' }] : []),
      { type: T.String, name: 'model', description: 'Model (what each makes: resolution, length, sound, references)', choices: choices(cat.aliases(), (a) => modelChoiceName(cat, a)) },
      { type: T.String, name: 'resolution', description: 'Short side of the frame', choices: choices(cat.allResolutions()) },
      // A range, not choices: lengths up to 30 s don't fit Discord's 25 choices; validation names each model's own.
      { type: T.Integer, name: 'duration', description: 'Length in seconds', min_value: durations.min, max_value: durations.max },
      ...(cat.allAspectRatios().length
        ? [{ type: T.String, name: 'aspect_ratio', description: 'Frame shape (text-to-video only)', choices: choices(cat.allAspectRatios()) }]
        : []),
      {
        type: T.Integer,
        name: 'seed',
        description: 'Same seed + same settings = similar video',
        min_value: Math.min(...seeds.map((s) => s.min)),
        max_value: Math.max(...seeds.map((s) => s.max)),
      },
      { type: T.Boolean, name: 'fixed_camera', description: 'Keep the camera still' },
      ...(cat.anyAudio() ? [{ type: T.Boolean, name: 'audio', description: 'Sound on or off; default on where the model makes sound' }] : []),
      ...REFERENCE_OPTIONS.slice(0, cat.maxReferenceImages()).map((name, i) => ({ type: T.Attachment, name, description: `Reference image; name it @Image${i + 1} in the prompt` })),
    ],
  };
  const animate = { type: MESSAGE, name: ANIMATE_COMMAND, contexts, integration_types };
  const admin = {
    type: CHAT_INPUT,
    name: ADMIN_COMMAND,
    description: 'Video bot settings for this server',
    contexts: [GUILD],
    integration_types: [GUILD_INSTALL],
    default_member_permissions: MANAGE_GUILD,
    options: [
      { type: T.Subcommand, name: 'show', description: 'Show the current settings' },
      { type: T.Subcommand, name: 'channel-add', description: 'Allow /video in a channel (once any is added, only those)', options: [{ type: T.Channel, name: 'channel', description: 'Channel', required: true }] },
      { type: T.Subcommand, name: 'channel-remove', description: 'Stop allowing /video in a channel', options: [{ type: T.Channel, name: 'channel', description: 'Channel', required: true }] },
      { type: T.Subcommand, name: 'channels-clear', description: 'Allow /video in every channel again' },
      { type: T.Subcommand, name: 'daily-limit', description: 'Videos per member per day (0 = no limit)', options: [{ type: T.Integer, name: 'limit', description: 'Videos per day', required: true, min_value: 0, max_value: 1000 }] },
      { type: T.Subcommand, name: 'default-model', description: 'Model used when a member names none', options: [{ type: T.String, name: 'model', description: 'Model', required: true, choices: choices(cat.aliases()) }] },
      {
        type: T.Subcommand,
        name: 'default-resolution',
        description: 'Resolution used when a member names none',
        options: [{ type: T.String, name: 'resolution', description: 'Resolution', required: true, choices: choices(cat.allResolutions()) }],
      },
    ],
  };
  const usage = {
    type: CHAT_INPUT,
    name: USAGE_COMMAND,
    description: 'How many videos you have made today, against the daily limit',
    contexts,
    integration_types,
  };
  return [video, animate, admin, usage];
}

/**
 * All configuration, from environment variables (and `.env`), in one zod schema:
 * the base keys below plus every provider plugin's own keys (src/providers/).
 * Parsed once at start-up; every problem is reported at once.
 */
import { z } from 'zod';
import { autoOrInt, bool, emptyToUndefined, int, intList, list, optionalBool, str, url } from './config-fields.js';
import { RESOLUTIONS } from './core/catalogue.js';
import { ConfigError } from './core/errors.js';
import { BUILTIN_PROVIDERS } from './providers/index.js';
import type { ProviderRegistry, RegistryConfig } from './providers/registry.js';
import { configuredProviders, missingProviderMessage, registryConfigShape, registrySecretKeys } from './providers/registry.js';

const MAX_SHARDS = 100_000;

/** Keys that are not any one provider's (a provider's own keys live in its plugin). */
export const baseConfigSchema = z
  .object({
    /** Provider names, most preferred first, for models more than one configured provider serves. */
    PROVIDER_PREFERENCE: list(true),
    /** Older spelling of "this provider first" (it decided who serves lite image-to-video); wins over PROVIDER_PREFERENCE. */
    LITE_I2V_PROVIDER: z.preprocess(emptyToUndefined, z.string().trim().toLowerCase().optional()),
    EXTRA_MODELS_FILE: str(),

    DATA_DIR: z.preprocess(emptyToUndefined, z.string().default('./data')),
    STORE_URL: str(),

    DEFAULT_MODEL: z.preprocess(emptyToUndefined, z.string().default('lite')),
    DEFAULT_RESOLUTION: z.preprocess(emptyToUndefined, z.enum(RESOLUTIONS).default('720p')),
    DEFAULT_DURATION: int(5, 1, 60),

    MAX_JOBS_PER_USER: int(2, 1, 1000),
    MAX_QUEUED_PER_USER: int(3, 0, 1000),
    MAX_JOBS_IN_FLIGHT: int(20, 1, 100_000),
    /** Jobs waiting in the queue across everyone; beyond it new requests are refused. */
    MAX_QUEUE_LENGTH: int(500, 1, 1_000_000),
    /** Videos one person may start per UTC day, everywhere (DMs and the terminal too); 0 = off. */
    DAILY_LIMIT_PER_USER: int(0, 0, 100_000),
    JOB_MAX_AGE_MINUTES: int(30, 1, 24 * 60),
    MAX_VIDEO_MB: int(200, 1, 4096),
    /** Downloads wait while DATA_DIR/videos holds this much. */
    VIDEOS_MAX_MB: int(2048, 1, 1_048_576),
    /** How long a finished video is retried while the platform doesn't take it. */
    DELIVERY_DEADLINE_MINUTES: int(360, 1, 7 * 24 * 60),
    /** An instance that stops renewing its lease for this long is taken to be dead. */
    LEASE_SECONDS: int(30, 3, 3600),
    /** Users' images downloaded at once (Slack files, CLI links). */
    MAX_IMAGE_DOWNLOADS: int(4, 1, 256),
    /** ffmpeg, by name on PATH or as a path (ffprobe is looked for beside it): re-encodes over-limit videos and grabs last frames. */
    FFMPEG_PATH: z.preprocess(emptyToUndefined, z.string().trim().default('ffmpeg')),
    /** Re-encodes and frame grabs running at once (each takes the CPUs it can get). */
    MAX_ENCODES: int(1, 1, 64),
    /** Days the last frame of a delivered video is kept (for Extend); 0 keeps none. */
    FRAME_RETENTION_DAYS: int(7, 0, 3650),
    /** Days a finished job's record is kept (Re-roll, Extend and the buttons need it); at least 1, so today's daily counts never lose a row. */
    JOB_RETENTION_DAYS: int(30, 1, 36_500),
    POLL_MIN_INTERVAL_MS: int(1000, 100, 60_000),
    POLL_MAX_INTERVAL_MS: int(15_000, 1000, 600_000),
    POLL_CONCURRENCY: int(32, 1, 1000),

    DISCORD_TOKEN: str(),
    DISCORD_APPLICATION_ID: z.preprocess(emptyToUndefined, z.string().regex(/^\d{15,21}$/, 'must be the numeric application id').optional()),
    /** REST base discord.js uses; the gateway URL then comes from this API. */
    DISCORD_API_URL: url('https://discord.com/api'),
    DISCORD_CDN_HOSTS: z.preprocess(
      emptyToUndefined,
      z
        .string()
        .default('cdn.discordapp.com,media.discordapp.net')
        .transform((v) => v.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean)),
    ),
    /** Open a thread per generation (in text channels) and deliver there. */
    DISCORD_THREAD_PER_VIDEO: bool(false),
    /** Request the privileged Message Content intent (replies that don't mention the bot). */
    DISCORD_MESSAGE_CONTENT: bool(false),
    DISCORD_ALLOW_DMS: bool(true),
    DISCORD_PROGRESS_INTERVAL_MS: int(5000, 200, 60_000),
    /** How long an interaction token works (Discord: 15 minutes). Only lower it to test jobs that outlive one. */
    DISCORD_INTERACTION_TOKEN_TTL_S: int(900, 1, 900),
    /** Gateway shards across every instance: `auto` (Discord's recommendation, asked at each connect) or a number. */
    DISCORD_SHARD_COUNT: autoOrInt(1, MAX_SHARDS),
    /** The shard ids this instance runs (each below DISCORD_SHARD_COUNT); unset: all of them. */
    DISCORD_SHARDS: intList(0, MAX_SHARDS - 1),

    SLACK_BOT_TOKEN: str(),
    /** Socket Mode (no public URL needed): an app-level token with connections:write. */
    SLACK_APP_TOKEN: str(),
    /** HTTP mode: requests are verified with this secret. */
    SLACK_SIGNING_SECRET: str(),
    /** Socket Mode when an app token is set, unless turned off. */
    SLACK_SOCKET_MODE: z.preprocess(emptyToUndefined, z.enum(['true', 'false', '1', '0']).optional()),
    /** Web API base; must end with a slash. */
    SLACK_API_URL: z.preprocess(emptyToUndefined, z.string().url().default('https://slack.com/api/')),
    SLACK_FILE_HOSTS: z.preprocess(
      emptyToUndefined,
      z
        .string()
        .default('files.slack.com')
        .transform((v) => v.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean)),
    ),
    SLACK_PROGRESS_INTERVAL_MS: int(5000, 200, 60_000),
    /** HTTP mode listens here (events, commands and interactivity at /slack/events). */
    PORT: int(3000, 0, 65535),

    /** Longest wait for one Discord or Slack API call (uploads included) before it counts as failed. */
    PLATFORM_TIMEOUT_MS: int(30_000, 100, 600_000),
    /** Longest wait for a platform to connect (Discord's READY, Slack's start) before the attempt is retried. */
    PLATFORM_CONNECT_TIMEOUT_S: int(60, 1, 3600),
    /** On SIGTERM/SIGINT: how long submits and uploads under way may take to finish before the process exits. */
    SHUTDOWN_GRACE_S: int(20, 0, 3600),

    LOG_LEVEL: z.preprocess(emptyToUndefined, z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')),
    /** Readable log lines (pino-pretty) instead of JSON; unset: when the log goes to a terminal. */
    LOG_PRETTY: optionalBool(),
    HEALTH_PORT: int(8080, 0, 65535),
    HEALTH_HOST: z.preprocess(emptyToUndefined, z.string().default('0.0.0.0')),
  });

/** The keys the app itself reads. */
export type BaseConfig = z.output<typeof baseConfigSchema>;

/** The base schema plus every plugin's keys. */
export function buildConfigSchema(registry: ProviderRegistry) {
  const shape = registryConfigShape(registry);
  const clash = Object.keys(shape).filter((k) => k in baseConfigSchema.shape);
  if (clash.length) throw new Error(`provider config keys clash with the base config: ${clash.join(', ')}`);
  return baseConfigSchema.extend(shape);
}

/** The built-in providers' schema. */
export const configSchema = buildConfigSchema(BUILTIN_PROVIDERS);

/** A configuration for `registry`: the base keys plus each of its plugins' keys. */
export type ConfigFor<R extends ProviderRegistry> = BaseConfig & RegistryConfig<R>;

/** The configuration with the built-in providers. */
export type Config = ConfigFor<typeof BUILTIN_PROVIDERS>;

/**
 * Parses the environment; throws ConfigError listing every problem. `registry`
 * (default: the built-in providers) decides which provider keys exist.
 */
export function loadConfig<R extends ProviderRegistry = typeof BUILTIN_PROVIDERS>(env: Record<string, string | undefined>, registry: R = BUILTIN_PROVIDERS as unknown as R): ConfigFor<R> {
  const parsed = buildConfigSchema(registry).safeParse(env);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`);
  const names = registry.map((p) => p.name);
  const known = (n: string) => names.includes(n);
  const oneOf = `must be one of ${names.join(', ')}`;
  const lite = env.LITE_I2V_PROVIDER?.trim().toLowerCase();
  if (lite && !known(lite)) problems.push(`LITE_I2V_PROVIDER: ${oneOf}`);
  const unknown = (env.PROVIDER_PREFERENCE ?? '').split(',').map((n) => n.trim().toLowerCase()).filter((n) => n && !known(n));
  if (unknown.length) problems.push(`PROVIDER_PREFERENCE: ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not a provider; ${oneOf}`);
  // Cross-field rules, checked even when other fields are wrong so everything is reported at once.
  const min = Number(env.POLL_MIN_INTERVAL_MS ?? 1000);
  const max = Number(env.POLL_MAX_INTERVAL_MS ?? 15_000);
  if (min > max) problems.push('POLL_MIN_INTERVAL_MS: must not exceed POLL_MAX_INTERVAL_MS');
  problems.push(...shardProblems(env));
  if (env.SLACK_BOT_TOKEN?.trim() && !env.SLACK_APP_TOKEN?.trim() && !env.SLACK_SIGNING_SECRET?.trim()) {
    problems.push('SLACK_BOT_TOKEN: also set SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode)');
  }
  if (env.DISCORD_TOKEN?.trim() && !env.DISCORD_APPLICATION_ID?.trim()) problems.push('DISCORD_APPLICATION_ID: required with DISCORD_TOKEN (Developer Portal > General Information > Application ID)');
  if (problems.length || !parsed.success) throw new ConfigError(problems);
  return parsed.data as ConfigFor<R>;
}

/** DISCORD_SHARDS against DISCORD_SHARD_COUNT (each is checked on its own by the schema). */
function shardProblems(env: Record<string, string | undefined>): string[] {
  const count = baseConfigSchema.shape.DISCORD_SHARD_COUNT.safeParse(env.DISCORD_SHARD_COUNT);
  const ids = baseConfigSchema.shape.DISCORD_SHARDS.safeParse(env.DISCORD_SHARDS);
  if (!count.success || !ids.success || !ids.data) return [];
  // With auto the count is Discord's at each connect: it grows with the servers, and the listed ids would then cover other servers.
  if (count.data === 'auto') return ['DISCORD_SHARDS: needs a fixed DISCORD_SHARD_COUNT (the same number on every instance), not auto: the recommended count can change between connects'];
  const n = count.data;
  const out = ids.data.filter((id) => id >= n);
  return out.length ? [`DISCORD_SHARDS: ${out.join(', ')} ${out.length === 1 ? 'is' : 'are'} out of range; with DISCORD_SHARD_COUNT=${n} the ids are 0 to ${n - 1}`] : [];
}

/** Provider names in preference order: LITE_I2V_PROVIDER, then PROVIDER_PREFERENCE (registry order fills in the rest). */
export function preferredProviders(c: BaseConfig): string[] {
  return [...new Set([...(c.LITE_I2V_PROVIDER ? [c.LITE_I2V_PROVIDER] : []), ...c.PROVIDER_PREFERENCE])];
}

/** Whether Slack runs over Socket Mode (true) or HTTP (false). */
export function slackSocketMode(c: Config): boolean {
  if (c.SLACK_SOCKET_MODE === 'false' || c.SLACK_SOCKET_MODE === '0') return false;
  return Boolean(c.SLACK_APP_TOKEN);
}

/** Checks that at least one video provider can be used. */
export function requireProvider(c: BaseConfig, registry: ProviderRegistry = BUILTIN_PROVIDERS): void {
  if (configuredProviders(registry, c).length === 0) throw new ConfigError([missingProviderMessage(registry)]);
}

/** The platforms' secrets (each provider's are named by its plugin). */
const BASE_SECRET_KEYS = ['DISCORD_TOKEN', 'SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'SLACK_SIGNING_SECRET'] as const;

/** Config keys holding secrets: the platforms' and every provider plugin's. */
export function secretKeys(registry: ProviderRegistry = BUILTIN_PROVIDERS): string[] {
  return [...registrySecretKeys(registry), ...BASE_SECRET_KEYS];
}

/** Log paths redacted by pino for `registry`'s providers (values are masked as well, see secretValues). */
export function secretPaths(registry: ProviderRegistry = BUILTIN_PROVIDERS): string[] {
  const providerKeys = registrySecretKeys(registry);
  return [
    ...secretKeys(registry),
    ...providerKeys.map((k) => `config.${k}`),
    'headers.authorization',
    'headers["x-api-key"]',
    'req.headers.authorization',
    '*.apiKey',
    '*.token',
  ];
}

/** Keys and tokens that must never reach a log line (the built-in providers'). */
export const SECRET_PATHS = secretPaths();

/** The configured secret values, masked wherever they appear in a log line. */
export function secretValues(c: Partial<BaseConfig> & Readonly<Record<string, unknown>>, registry: ProviderRegistry = BUILTIN_PROVIDERS): string[] {
  return secretKeys(registry)
    .map((k) => c[k])
    .filter((v): v is string => typeof v === 'string' && v.length > 0);
}

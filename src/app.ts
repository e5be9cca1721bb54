/**
 * Composition root shared by the bot (`npm start`) and the terminal CLI: builds
 * providers, catalogue, store and the job service from the typed config.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type Keyv from 'keyv';
import type { Dispatcher } from 'undici';
import { ZodError } from 'zod';
import { ConfigError } from './core/errors.js';
import type { BaseConfig } from './config.js';
import { preferredProviders } from './config.js';
import { createCatalogue, parseExtraModels } from './core/catalogue.js';
import type { Clock } from './core/clock.js';
import { systemClock } from './core/clock.js';
import { DEFAULT_POLL_POLICY } from './core/eta.js';
import { createJobService } from './core/job-service.js';
import type { JobService } from './core/job-service.js';
import type { Logger } from './core/logger.js';
import type { ChatSurface, VideoProvider } from './core/ports.js';
import { createRequestValidator } from './core/request.js';
import { createDispatcher } from './http/http-client.js';
import type { FfmpegTools } from './media/ffmpeg-tools.js';
import type { Metrics } from './metrics.js';
import { createFfmpegTools } from './media/ffmpeg-tools.js';
import { createVideoFetcher } from './http/video-fetcher.js';
import { BUILTIN_PROVIDERS } from './providers/index.js';
import type { ProviderRegistry } from './providers/registry.js';
import { configuredProviders, createRegisteredProviders, providerPreference, registerLabels, registryModels } from './providers/registry.js';
import { openStore } from './store.js';
import type { StoreHealth } from './store.js';
import { createLimiter } from './core/submit-step.js';
import { createPlaceSettings } from './usecases/place-settings.js';
import { createVideoUseCases } from './usecases/video-use-cases.js';
import type { VideoUseCases } from './usecases/video-use-cases.js';

export interface App {
  service: JobService;
  /** The use cases every platform adapter calls (start, again, cancel, delete, usage, settings). */
  useCases: VideoUseCases;
  /** The shared keyv store (settings, platform bookkeeping). */
  kv: Keyv;
  /** Whether the store answers now (no I/O): for /readyz; also `seedance_store_up` when metrics are given. */
  storeHealth(): StoreHealth;
  /** Bounds users' image downloads across every platform (MAX_IMAGE_DOWNLOADS). */
  imageDownloads: <T>(fn: () => Promise<T>) => Promise<T>;
  catalogue: ReturnType<typeof createCatalogue>;
  dispatcher: Dispatcher;
  /** ffmpeg, when it was asked for (`media`) and found; over-limit videos are then re-encoded to fit. */
  videoTools?: FfmpegTools;
  /** Why ffmpeg can't be used (one line for the start-up log), when it was asked for and not found. */
  videoToolsProblem?: string;
  /** The last frame (JPEG) of a video delivered as a file, kept FRAME_RETENTION_DAYS; see JobService.lastFrame. */
  lastFrame(jobId: string, opts?: { waitMs?: number }): Promise<Uint8Array | undefined>;
  close(): Promise<void>;
}

/** Builds every provider of `registry` this configuration has keys for. */
export function createProviders(config: BaseConfig, dispatcher: Dispatcher, registry: ProviderRegistry = BUILTIN_PROVIDERS): Record<string, VideoProvider> {
  return createRegisteredProviders(registry, config, { dispatcher });
}

async function loadExtraModels(file: string) {
  try {
    return parseExtraModels(JSON.parse(await readFile(file, 'utf8')));
  } catch (err) {
    const why = err instanceof ZodError ? err.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') : (err as Error).message;
    throw new ConfigError([`EXTRA_MODELS_FILE (${file}): ${why}`]);
  }
}

/**
 * The catalogue this configuration can use: the registry's models plus EXTRA_MODELS_FILE,
 * limited to `providers` (default: those with keys), in LITE_I2V_PROVIDER / PROVIDER_PREFERENCE order.
 */
export async function loadCatalogue(config: BaseConfig, opts: { providers?: readonly string[]; registry?: ProviderRegistry } = {}) {
  const registry = opts.registry ?? BUILTIN_PROVIDERS;
  const extra = config.EXTRA_MODELS_FILE ? await loadExtraModels(config.EXTRA_MODELS_FILE) : [];
  return createCatalogue([...registryModels(registry), ...extra], {
    providers: opts.providers ?? providerNames(config, registry),
    preference: providerPreference(registry, preferredProviders(config)),
  });
}

/** Names of the providers this configuration has keys for. */
export function providerNames(config: BaseConfig, registry: ProviderRegistry = BUILTIN_PROVIDERS): string[] {
  return configuredProviders(registry, config);
}

export async function createApp(
  config: BaseConfig,
  opts: {
    /** The providers to use (default: the built-in ones); `config` must come from loadConfig with the same registry. */
    registry?: ProviderRegistry;
    logger: Logger;
    /** The surfaces, or a factory for surfaces that keep their own records in the store. */
    surfaces: readonly ChatSurface[] | ((kv: Keyv) => readonly ChatSurface[]);
    clock?: Clock;
    dispatcher?: Dispatcher;
    env?: Record<string, string | undefined>;
    /** Use ffmpeg (FFMPEG_PATH) to fit over-limit videos and keep last frames: the bot does; the terminal, which has no upload limit, doesn't. */
    media?: boolean;
    /** Where the core's metrics go (the bot serves them on GET /metrics); none by default. */
    metrics?: Metrics;
  },
): Promise<App> {
  const dispatcher = opts.dispatcher ?? createDispatcher(opts.env ?? process.env);
  const registry = opts.registry ?? BUILTIN_PROVIDERS;
  registerLabels(registry);
  const providers = createProviders(config, dispatcher, registry);
  const catalogue = await loadCatalogue(config, { providers: Object.keys(providers), registry });
  const validator = createRequestValidator(catalogue, {
    model: config.DEFAULT_MODEL,
    resolution: config.DEFAULT_RESOLUTION,
    duration: config.DEFAULT_DURATION,
  });
  const workDir = resolve(config.DATA_DIR);
  const tools = opts.media ? createFfmpegTools({ ffmpegPath: config.FFMPEG_PATH, maxEncodes: config.MAX_ENCODES }) : undefined;
  const videoTools = tools && (await tools.detect()) ? tools : undefined;
  const { kv, jobs, health: storeHealth, close } = await openStore(config.STORE_URL, workDir);
  const surfaces = typeof opts.surfaces === 'function' ? opts.surfaces(kv) : opts.surfaces;
  const service = createJobService({
    store: jobs,
    providers,
    catalogue,
    validator,
    surfaces,
    fetcher: createVideoFetcher(dispatcher),
    clock: opts.clock ?? systemClock,
    logger: opts.logger,
    ...(videoTools ? { videoTools } : {}),
    ...(opts.metrics ? { metrics: opts.metrics.core } : {}),
    // Instances on one Redis each have their own DATA_DIR: last frames are copied there too (not into SQLite).
    ...(/^rediss?:\/\//.test(config.STORE_URL ?? '') ? { sharedFrames: kv } : {}),
    config: {
      maxPerUser: config.MAX_JOBS_PER_USER,
      maxQueuedPerUser: config.MAX_QUEUED_PER_USER,
      maxInFlight: config.MAX_JOBS_IN_FLIGHT,
      maxQueueLength: config.MAX_QUEUE_LENGTH,
      ...(config.DAILY_LIMIT_PER_USER ? { dailyPerUser: config.DAILY_LIMIT_PER_USER } : {}),
      maxAgeMs: config.JOB_MAX_AGE_MINUTES * 60_000,
      maxVideoBytes: config.MAX_VIDEO_MB * 1024 * 1024,
      videosCapBytes: config.VIDEOS_MAX_MB * 1024 * 1024,
      deliveryDeadlineMs: config.DELIVERY_DEADLINE_MINUTES * 60_000,
      leaseMs: config.LEASE_SECONDS * 1000,
      pollPolicy: { ...DEFAULT_POLL_POLICY, minIntervalMs: config.POLL_MIN_INTERVAL_MS, maxIntervalMs: config.POLL_MAX_INTERVAL_MS },
      pollConcurrency: config.POLL_CONCURRENCY,
      workDir,
      unknownStatusGraceMs: 5 * 60_000,
      frameRetentionMs: config.FRAME_RETENTION_DAYS * 86_400_000,
      jobRetentionMs: config.JOB_RETENTION_DAYS * 86_400_000,
    },
  });
  opts.metrics?.watch(service);
  opts.metrics?.watchStore({ health: storeHealth });
  return {
    service,
    kv,
    storeHealth,
    useCases: createVideoUseCases({
      service,
      settings: createPlaceSettings(kv),
      catalogue,
      // Extend starts from the last frames the delivery keeps, which takes ffmpeg.
      ...(videoTools ? { frames: { get: (jobId: string, o?: { waitMs?: number }) => service.lastFrame(jobId, o), retentionDays: config.FRAME_RETENTION_DAYS } } : {}),
      jobRetentionDays: config.JOB_RETENTION_DAYS,
      now: () => (opts.clock ?? systemClock).now(),
    }),
    imageDownloads: createLimiter(config.MAX_IMAGE_DOWNLOADS),
    catalogue,
    dispatcher,
    ...(videoTools ? { videoTools } : {}),
    ...(tools && !videoTools && tools.problem ? { videoToolsProblem: tools.problem } : {}),
    lastFrame: (jobId, o) => service.lastFrame(jobId, o),
    async close() {
      await service.stop();
      // After the grace service.stop gave encodes under way: whatever still runs is killed.
      tools?.close();
      await close();
      await dispatcher.close().catch(() => undefined);
    },
  };
}

/**
 * The two ports the core owns. Providers and chat platforms implement them;
 * the core never imports a platform or HTTP library.
 */
import type { ModelSpec } from './catalogue.js';
import type { GenerationRequest, PreparedImage } from './request.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** An image as a provider receives it: an http(s) URL or a full data URI. */
export type ProviderImage = Omit<PreparedImage, 'url' | 'file' | 'data'> & { url: string };

/** What a provider needs to start a job. */
export interface ProviderRequest extends Omit<GenerationRequest, 'image' | 'lastFrame' | 'references'> {
  model: ModelSpec;
  image?: ProviderImage;
  lastFrame?: ProviderImage;
  references?: ProviderImage[];
}

/** Opaque, JSON-serialisable handle to a job at a provider. Stored in the job record. */
export type ProviderOperation = { provider: string; id: string } & { [key: string]: JsonValue };

/** Where a finished video can be fetched from. */
export type VideoSource =
  | { kind: 'url'; url: string; expiresAt?: number }
  /** Already on local disk (synchronous APIs hand the bytes over directly). */
  | { kind: 'file'; path: string; bytes: number };

export type ProviderStatus =
  | {
      state: 'pending';
      /** The provider's own word, e.g. `queued`, `generating`, `PROCESSING`. */
      providerStatus: string;
      /** Whether the provider has not started rendering yet. */
      queued: boolean;
      /** Set when the provider said something we do not know: logged and shown, not waited on forever. */
      anomaly?: string;
    }
  | { state: 'completed'; providerStatus: string; video: VideoSource; creditsUsed?: number; creditsRemaining?: number }
  | { state: 'failed'; providerStatus: string; error: { code: string; message: string } };

export interface ProviderCallContext {
  jobId: string;
  /** A directory the provider may write into (e.g. a video returned inline). */
  workDir: string;
  signal?: AbortSignal;
}

/**
 * A video backend. It never loops or sleeps: the core decides when to call `status`.
 * Errors are thrown as `ProviderError` (or `RateLimitError`).
 */
export interface VideoProvider {
  readonly name: string;
  /** Submits one job. Must not retry internally in any way that could create a second paid job. */
  start(request: ProviderRequest, ctx: ProviderCallContext): Promise<{ operation: ProviderOperation; status?: ProviderStatus }>;
  status(operation: ProviderOperation, ctx: ProviderCallContext): Promise<ProviderStatus>;
}

/** What a progress message shows; numbers are already coarse so equal views mean nothing changed. */
export interface ProgressView {
  jobId: string;
  phase: 'queued' | 'submitting' | 'rendering' | 'downloading' | 'delivering';
  providerStatus?: string;
  /** 1-based position in our own queue while `phase` is `queued` (rounded far back, see `queueApprox`). */
  queuePosition?: number;
  /** The position is rounded ("about 450th"). */
  queueApprox?: boolean;
  elapsedSeconds: number;
  remainingSeconds?: number;
  /** 0..99, in steps of 5, from the learned render time. */
  percent?: number;
  anomaly?: string;
  /** Delivery is waiting: for the platform to accept the video, for the download, or for disk space. */
  waiting?: 'platform' | 'download' | 'disk';
  /** Seconds until the next delivery attempt (coarse), while `waiting`. */
  retryInSeconds?: number;
  /** The video is being re-encoded to fit the conversation's upload limit. */
  compressing?: boolean;
}

/** A short description of the job a surface can show next to progress and results. */
export interface JobSummary {
  id: string;
  prompt: string;
  modelLabel: string;
  modelAlias: string;
  resolution: string;
  duration: number;
  aspectRatio?: string;
  seed: number;
  fromImage: boolean;
  /** The clip has sound; absent for records made before sound existed. */
  sound?: boolean;
  /** How many reference images, videos and sound files guided it. */
  references?: number;
  requesterId: string;
}

/** How a finished video reached the conversation: the file, a re-encoded copy that fits, or a link. */
export type DeliveredAs = 'file' | 'compressed' | 'link';

/** Said with a video that was re-encoded to fit the upload limit: how big the original was and where it is. */
export interface CompressedNote {
  originalBytes: number;
  /** The provider's link to the original, while it lasts. */
  url?: string;
  expiresAt?: number;
}

export type SurfaceMessage =
  | { kind: 'progress'; job: JobSummary; progress: ProgressView }
  | { kind: 'video'; job: JobSummary; creditsUsed?: number; bytes: number; compressed?: CompressedNote }
  | { kind: 'link'; job: JobSummary; url?: string; expiresAt?: number; bytes?: number; limitBytes: number; creditsUsed?: number }
  | { kind: 'failed'; job: JobSummary; text: string }
  | { kind: 'cancelled'; job: JobSummary; text: string }
  /** Replaces the progress message once the video has been delivered. */
  | { kind: 'done'; job: JobSummary; elapsedSeconds: number; deliveredAs: DeliveredAs };

export interface VideoFile {
  path: string;
  name: string;
  bytes: number;
  contentType: 'video/mp4';
}

/** Thrown by `upload` when the platform refuses the file as too large: the core posts a link instead. */
export class SurfaceTooLargeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SurfaceTooLargeError';
  }
}

/** Thrown by a surface when a message or conversation no longer exists or can't be reached. */
export class SurfaceGoneError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SurfaceGoneError';
  }
}

/**
 * A chat platform (or the terminal). Conversations and messages are referred to by
 * stable strings such as `discord:<channel>:<message>` or `slack:<team>:<channel>:<ts>`
 * so a job record finds its way back after a restart.
 */
export interface ChatSurface {
  /** Prefix of every reference this surface owns, e.g. `discord`. */
  readonly kind: string;
  /** Minimum time between progress edits of one message. */
  readonly progressIntervalMs: number;
  /** Cap on progress edits per second across all jobs of this surface (platform rate limits). */
  readonly maxEditsPerSecond?: number;
  /**
   * Posts a message; returns a reference to it for later edits. With `idempotencyKey`, a repeated
   * call after a crash must not post a second copy where the platform allows it.
   */
  post(conversation: string, message: SurfaceMessage, opts?: { idempotencyKey?: string }): Promise<string>;
  /** Replaces a posted message. Throws SurfaceGoneError when it no longer exists. */
  edit(messageRef: string, message: SurfaceMessage): Promise<void>;
  /** The largest file this conversation accepts; `meta` is what the surface stored with the job. */
  maxUploadBytes(conversation: string, meta: Readonly<Record<string, string>>): Promise<number>;
  /**
   * Uploads the finished video with its caption. `idempotencyKey` is the job id:
   * a repeated call after a crash must not post a second copy where the platform allows it.
   * Returns a reference to the posted message.
   */
  upload(conversation: string, file: VideoFile, message: SurfaceMessage, opts: { idempotencyKey: string }): Promise<string>;
  /** Where to deliver when the original conversation is gone (e.g. a DM); undefined if nowhere. */
  fallbackConversation?(requesterId: string, conversation: string): Promise<string | undefined>;
}

/** Streams a finished video to disk; implemented over HTTP outside the core. */
export interface VideoFetcher {
  /**
   * Downloads `url` into `path`, stopping past `maxBytes` (then nothing is left at `path`).
   * Throws `DownloadError` for HTTP and network failures.
   */
  download(url: string, path: string, opts: { maxBytes: number; signal?: AbortSignal }): Promise<{ ok: true; bytes: number } | { ok: false; reason: 'too_large'; bytes?: number }>;
}

/** What a video file holds, as the video tools read it. */
export interface VideoInfo {
  durationS: number;
  width: number;
  height: number;
  hasAudio: boolean;
  /** Frames per second of the video stream, when known. */
  fps?: number;
}

/** A re-encoded copy of a video, made to fit a size. */
export interface FittedVideo {
  bytes: number;
  durationS: number;
  width: number;
  height: number;
}

/** Thrown by VideoTools once they have been closed (shutting down): the work is put off, not given up. */
export class VideoToolsStoppedError extends Error {
  constructor(message = 'the video tools are shutting down') {
    super(message);
    this.name = 'VideoToolsStoppedError';
  }
}

/**
 * Local video processing (ffmpeg), implemented outside the core (`src/media/`), so the core never
 * starts a program itself. Each call runs child processes with a timeout; re-encodes and frame grabs
 * share a bound on how many run at once (MAX_ENCODES). Failures are thrown as errors with a short
 * message (the end of the program's stderr); `VideoToolsStoppedError` once closed.
 */
export interface VideoTools {
  /** Whether the programs can run here: checked once at start; the core is only given tools that passed. */
  detect(): Promise<boolean>;
  /** Length, size and whether there is sound. */
  probe(path: string): Promise<VideoInfo>;
  /**
   * Re-encodes `input` as H.264/AAC MP4 into `output`, at most `maxBytes`, keeping its length and
   * sound (lowering the resolution when the bitrate left is too thin). Written to a temporary file
   * and renamed, so `output` is only ever complete. Throws when it can't be made to fit.
   */
  fitToSize(input: string, output: string, opts: { maxBytes: number }): Promise<FittedVideo>;
  /** Writes the last frame of `input` as a JPEG at `outputJpeg` (temporary file, then rename), at the video's size. */
  lastFrame(input: string, outputJpeg: string): Promise<{ bytes: number }>;
}

// Public types of the provider emulator (re-exported by provider-emulator.ts).

export type Service = 'aimlapi' | 'segmind';
/** 'cdn' = video downloads: AIML signed URLs under /cdn/ and Segmind outputs under /outputs/. */
export type RecordedService = Service | 'cdn';

export interface RenderJobInfo {
  service: Service;
  model: string;
  body: Record<string, unknown>;
}

export interface EmulatorOptions {
  /** Default 0 (ephemeral port). */
  aimlapiPort?: number;
  /** Default 0 (ephemeral port). */
  segmindPort?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Valid AIML keys, default ['test-aiml-key']. */
  aimlapiKeys?: string[];
  /** Valid Segmind keys, default ['test-segmind-key']. */
  segmindKeys?: string[];
  /** Render time of a job in ms, default () => 50. */
  renderMs?: (job: RenderJobInfo) => number;
  /** Share of the render time reported as queued before generating/PROCESSING; default 0.2. */
  queuedFraction?: number;
  /** Body served for every finished video; default test/fixtures/tiny.mp4. */
  videoBytes?: Buffer;
  /** AIML signed video URL lifetime, default 24 h. */
  videoUrlTtlMs?: number;
  /** How long Segmind keeps status/results after the job finished, default 1 h. */
  segmindResultTtlMs?: number;
  /** Clock in ms, default Date.now; all expiry/render decisions use it. */
  now?: () => number;
  /**
   * Directory of AIML OpenAPI files (one per model) that AIML create bodies are validated against; default
   * $EMULATOR_AIMLAPI_SPECS_DIR, else test/fixtures/aimlapi-specs (copies of ../shared/specs/aimlapi).
   */
  aimlapiSpecsDir?: string;
}

export interface EmulatorJob {
  id: string;
  service: Service;
  model: string;
  body: Record<string, unknown>;
  createdAt: number;
  readyAt: number;
  firstCompletedSeenAt?: number;
  statusPolls: number;
  outcome: 'success' | 'error';
}

export interface RecordedRequest {
  service: RecordedService;
  method: string;
  /** Path including the query string, e.g. /v2/video/generations?generation_id=x */
  path: string;
  query: Record<string, string>;
  /** Lower-case header names. */
  headers: Record<string, string>;
  /** Parsed JSON when the body is JSON, the text otherwise, undefined when empty. */
  body: unknown;
  at: number;
  /** HTTP status sent; 0 for a reset (or while the response is still pending). */
  status: number;
  /** What the request was: a job create, a status/result poll, a video download, or anything else. */
  kind: RequestKind;
  /**
   * The fault this request got (a queued one-shot fault or one the chaos function returned), absent when it was
   * handled normally. A 'status' or 'reset' fault on a create means no job was created; 'delay', 'slowBody' and
   * 'statusWord' still handle the request normally afterwards.
   */
  fault?: AppliedFault;
}

/**
 * 'create': POST to an AIML generations route, or POST to Segmind's /v1|v2/seedance-v1-lite-image-to-video.
 * 'poll': GET of an AIML generations route (?generation_id=), or GET of Segmind's /v1|v2/requests/<id>[/status].
 * 'download': a video download (AIML /cdn/…, Segmind /outputs/…). 'other': anything else (wrong routes, methods).
 */
export type RequestKind = 'create' | 'poll' | 'download' | 'other';

/** Where a fault came from: the queue of one-shot faults (addFault) or the chaos function (setChaos). */
export type FaultSource = 'queued' | 'chaos';

/** A fault as applied to one request. */
export type AppliedFault = Fault & { source: FaultSource };

/** What the chaos function is told about a request (control requests under /__emulator never reach it). */
export interface ChaosRequest {
  service: RecordedService;
  method: string;
  /** Path including the query string. */
  path: string;
  /** Path without the query string. */
  pathname: string;
  kind: RequestKind;
  /** True for an AIML status poll (the only requests a 'statusWord' fault affects). */
  isAimlPoll: boolean;
  /** Parsed JSON body (text when not JSON, undefined when empty). */
  body: unknown;
}

/**
 * Called for every request no queued fault matched. Returns undefined to handle the request normally, or a fault
 * to apply to this one request; its matching fields (service, method, pathIncludes, times) are ignored.
 */
export type ChaosFn = (req: ChaosRequest) => Fault | undefined;

export type FaultKind = 'status' | 'reset' | 'delay' | 'slowBody' | 'statusWord';

export interface Fault {
  service?: RecordedService;
  method?: string;
  /** Matched against the request path including its query string. */
  pathIncludes?: string;
  /** Default 1. */
  times?: number;
  kind: FaultKind;
  /** kind 'status': HTTP status to answer. */
  status?: number;
  /** kind 'status': body to send instead of the service's error envelope. */
  body?: unknown;
  /** kind 'status': adds Retry-After. */
  retryAfterSeconds?: number;
  /**
   * kind 'delay': wait before handling normally (longer than the client's timeout = a hang; the request is still
   * handled afterwards); kind 'slowBody': delay between body chunks; kind 'status' / 'reset' (optional): wait this
   * long before answering / dropping the connection (a hang that ends in an error or a reset).
   */
  ms?: number;
  /** kind 'slowBody': chunk size in bytes (default: a quarter of the body, at most 256). */
  chunkBytes?: number;
  /** kind 'statusWord': an AIML poll answers this status word instead of the real one. Only matches AIML polls. */
  word?: string;
}

export interface EmulatorSettings {
  statusCodeAsString: boolean;
  createStatus: 200 | 201 | 'auto';
  completedWord: 'completed' | 'succeeded';
  pendingWords: [string, string];
  /** The next N creates end in error/FAILED. */
  failNext: number;
}

export interface EmulatorCredits {
  aimlapi: number;
  segmind: number;
}

export interface RequestFilter {
  service?: string;
  method?: string;
  pathIncludes?: string;
  kind?: RequestKind;
  /** true: only requests that got a fault; false: only requests handled without one. */
  faulted?: boolean;
  /** Only requests whose fault came from this source (implies faulted). */
  faultSource?: FaultSource;
}

export interface ProviderEmulator {
  /** e.g. http://127.0.0.1:PORT, no trailing slash */
  aimlapiUrl: string;
  segmindUrl: string;
  jobs: Map<string, EmulatorJob>;
  requests: RecordedRequest[];
  /** Default Infinity; each create costs 1; at 0 → out-of-credits errors. */
  credits: EmulatorCredits;
  settings: EmulatorSettings;
  addFault(f: Fault): void;
  /** Removes the queued one-shot faults (not the chaos function). */
  clearFaults(): void;
  /**
   * Sets (or with undefined removes) the chaos function, asked about every request no queued fault matched.
   * A fault it returns is validated like addFault's; an invalid one (or a throw) answers that request 500.
   */
  setChaos(fn: ChaosFn | undefined): void;
  /** Number of recorded requests matching the filter. */
  count(filter: RequestFilter): number;
  /**
   * Parsed JSON bodies of the recorded requests matching the filter, oldest first, exactly as the client sent them
   * (refused ones included: filter on `requests` by status, or read `jobs`, for accepted creates only). E.g. every
   * AIML create body: `bodies({ service: 'aimlapi', kind: 'create' })`.
   */
  bodies(filter?: RequestFilter): unknown[];
  /** Forget jobs, requests, faults and the chaos function; restore default settings and infinite credits. */
  reset(): void;
  close(): Promise<void>;
}

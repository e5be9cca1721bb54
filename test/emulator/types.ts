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
}

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
  /** kind 'delay': wait before handling normally; kind 'slowBody': delay between body chunks. */
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
  clearFaults(): void;
  /** Number of recorded requests matching the filter. */
  count(filter: RequestFilter): number;
  /** Forget jobs, requests and faults; restore default settings and infinite credits. */
  reset(): void;
  close(): Promise<void>;
}

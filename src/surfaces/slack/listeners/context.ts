/**
 * What every Slack listener module receives: the core's services, the Slack
 * client, and the helpers shared between listeners (starting and re-running a
 * job, looking one up, who is an admin, where a job's thread is).
 */
import type { webApi } from '@slack/bolt';
import type Keyv from 'keyv';
import type { Catalogue } from '../../../core/catalogue.js';
import type { JobRecord } from '../../../core/job.js';
import type { JobService } from '../../../core/job-service.js';
import type { Logger } from '../../../core/logger.js';
import { UserFacingError, userMessageFor } from '../../../core/errors.js';
import type { SlackStart } from '../slack-start-job.js';
import type { Actor, VideoUseCases, Where } from '../../../usecases/video-use-cases.js';

export const SLACK_USAGE =
  'Make a video: `/video a fox running through snow --ratio 9:16 --pro --seed 42 --fixed`, mention me with a prompt (attach an image to animate it), ' +
  'or use the *Make a video* shortcut. Other options: `--lite` or `--2.0` (any model), `--res 1080p`, `--duration 10`, `--no-audio`. ' +
  'Several images are reference images on models that take them: name them @Image1, @Image2… in the prompt.';

export interface SlackListenerDeps {
  service: JobService;
  catalogue: Catalogue;
  kv: Keyv;
  /** The app's own client (listeners that get one from Bolt use that one). */
  client: webApi.WebClient;
  log: Logger;
  /** False while shutting down: new requests are turned away. */
  accepting(): boolean;
  useCases: VideoUseCases;
  /** startSlackJob with the app's deps: the job's id, or undefined when none was started. */
  start(s: SlackStart): Promise<string | undefined>;
  /** Every check a start would make (on what Slack declares), without starting: throws the refusal. */
  preflight(s: SlackStart): Promise<void>;
  /** The use cases' view of a person and a conversation here. */
  actor(user: string): Actor;
  where(channel: string): Where;
  /** The same request again (new seed, maybe a new prompt); an image is fetched from Slack again. */
  rerun(job: JobRecord, prompt?: string): Pick<SlackStart, 'input' | 'imageFile' | 'referenceFiles'>;
  jobFor(jobId: string): Promise<JobRecord>;
  isAdmin(user: string): Promise<boolean>;
  threadOf(job: JobRecord): { channel: string; thread: string | undefined };
  /** Known once connected (auth.test). */
  team(): string;
  botUserId(): string;
  /** tellPrivately with the app's client. */
  tellPrivately(p: { channel: string; user: string; text: string; thread?: string }): Promise<void>;
}

/**
 * A modal's validation failure as Slack's inline errors (`response_action: 'errors'`): every
 * problem, on the block `fieldOf` says it is about; several on one block are joined.
 */
export function inlineErrors(err: unknown, fieldOf: (message: string) => string): { response_action: 'errors'; errors: Record<string, string> } {
  const messages = err instanceof UserFacingError && err.details.length ? err.details : [userMessageFor(err)];
  const errors: Record<string, string> = {};
  for (const m of messages) {
    const field = fieldOf(m);
    errors[field] = errors[field] ? `${errors[field]}; ${m}` : m;
  }
  return { response_action: 'errors', errors };
}

/** Starts a checked modal request; a refusal after the ack reaches the user privately, in the thread if any. */
export function startChecked(d: Pick<SlackListenerDeps, 'start' | 'tellPrivately'>, s: SlackStart, user: string): Promise<unknown> {
  return d.start({ ...s, refuse: (text) => d.tellPrivately({ channel: s.channel, user, text: `:warning: ${text}`, ...(s.thread ? { thread: s.thread } : {}) }) });
}

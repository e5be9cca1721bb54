/** Block Kit for the bot's Slack messages. */
import type { JobSummary, ProgressView, SurfaceMessage } from '../../core/ports.js';
import { clock, compressedNote, deliveredNote, jobFacts, progressMessage, quotePrompt } from '../common/format.js';
import type { ProgressMarkup } from '../common/format.js';
import { ACTIONS } from './slack-refs.js';

export interface SlackPayload {
  text: string;
  blocks: unknown[];
}

const mrkdwn = (text: string) => ({ type: 'mrkdwn', text });
const section = (text: string) => ({ type: 'section', text: mrkdwn(text) });
const context = (text: string) => ({ type: 'context', elements: [mrkdwn(text)] });
const button = (text: string, actionId: string, value: string, style?: 'primary' | 'danger') => ({
  type: 'button',
  text: { type: 'plain_text', text, emoji: true },
  action_id: actionId,
  value,
  ...(style ? { style } : {}),
});

/** Text with Slack's control characters (&, <, >) escaped, so it shows as written and can't ping or link. */
export function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Text as the person typed it: Slack sends `&`, `<` and `>` in messages and commands as entities. */
export function unescape(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** A prompt as an escaped block quote (a prompt must not ping or link). */
export const quote = (prompt: string) => quotePrompt(escape(prompt));

export const describeJob = (job: JobSummary, credits?: number) => jobFacts(job, credits, { bold: (t) => `*${t}*`, code: (t) => `\`${t}\`` });

const MARKUP: ProgressMarkup = {
  bold: (t) => `*${t}*`,
  icons: { queued: ':hourglass_flowing_sand:', submitting: ':incoming_envelope:', fetching: ':inbox_tray:', rendering: ':clapper:', warning: ':warning:' },
  platform: 'Slack',
};

export const progressLine = (p: ProgressView): string => progressMessage(p, MARKUP);

export function resultActions(jobId: string) {
  return {
    type: 'actions',
    block_id: 'result',
    elements: [button(':game_die: Re-roll', ACTIONS.reroll, jobId), button(':pencil2: Animate again', ACTIONS.again, jobId), button(':fast_forward: Extend', ACTIONS.extend, jobId), button(':wastebasket: Delete', ACTIONS.delete, jobId, 'danger')],
  };
}

/** A time as Slack shows it in each reader's time zone. */
const when = (ms: number) => `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|soon>`;

/** The caption uploaded with the video (files.uploadV2 initial_comment is plain mrkdwn). */
export function videoCaption(m: Extract<SurfaceMessage, { kind: 'video' }>): string {
  const compressed = m.compressed ? `\n🗜️ ${compressedNote(m.compressed, { link: (u) => `<${u}|download it here>`, time: when })}` : '';
  return `${quote(m.job.prompt)}\n${describeJob(m.job, m.creditsUsed)} · for <@${m.job.requesterId}>${compressed}`;
}

export function renderSlack(m: SurfaceMessage): SlackPayload {
  switch (m.kind) {
    case 'progress':
      return {
        text: progressLine(m.progress).replace(/\n.*/s, ''),
        blocks: [section(progressLine(m.progress)), context(quote(m.job.prompt)), { type: 'actions', block_id: 'progress', elements: [button('Cancel', ACTIONS.cancel, m.job.id)] }],
      };
    case 'video':
      return { text: 'What do you want to do with this video?', blocks: [context(`${describeJob(m.job, m.creditsUsed)} · for <@${m.job.requesterId}>`), resultActions(m.job.id)] };
    case 'link': {
      const size = m.bytes !== undefined ? `${(m.bytes / 1048576).toFixed(1)} MB, ` : '';
      const expiry = m.expiresAt ? ` (link expires ${when(m.expiresAt)})` : '';
      const where = m.url ? `<${m.url}|Download it here>${expiry}.` : 'No download link is available.';
      const text = `${quote(m.job.prompt)}\n${describeJob(m.job, m.creditsUsed)} · for <@${m.job.requesterId}>\nThe video (${size}over the upload limit) is too large to attach. ${where}`;
      return { text: 'Your video is ready (as a link)', blocks: [section(text), resultActions(m.job.id)] };
    }
    case 'failed':
      return { text: `:x: ${m.text}`, blocks: [section(`:x: ${escape(m.text)}`), context(quote(m.job.prompt))] };
    case 'cancelled':
      return { text: `:octagonal_sign: ${m.text}`, blocks: [section(`:octagonal_sign: ${escape(m.text)}`), context(quote(m.job.prompt))] };
    case 'done':
      return {
        text: `:white_check_mark: Done in ${clock(m.elapsedSeconds)}`,
        blocks: [section(`:white_check_mark: Done in ${clock(m.elapsedSeconds)}${m.deliveredAs === 'link' ? deliveredNote('link') : `${deliveredNote(m.deliveredAs)} · the video is in the thread`}`), context(quote(m.job.prompt))],
      };
  }
}

/** What the bot's Discord messages look like: plain content plus buttons. */
import type { JobSummary, ProgressView, SurfaceMessage } from '../../core/ports.js';
import { bar, clock, compressedNote, deliveredNote, jobFacts, progressMessage, quotePrompt } from '../common/format.js';
import type { ProgressMarkup } from '../common/format.js';
import { buttonId } from './discord-refs.js';

export { bar, clock };

export interface DiscordPayload {
  content: string;
  components: unknown[];
  allowed_mentions: { parse: never[]; users?: string[] };
}

const BUTTON = 2;
const ROW = 1;
const STYLE = { primary: 1, secondary: 2, danger: 4 } as const;

function button(label: string, customId: string, style: number, emoji?: string) {
  return { type: BUTTON, style, label, custom_id: customId, ...(emoji ? { emoji: { name: emoji } } : {}) };
}

export function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

const quote = (prompt: string) => quotePrompt(prompt);
/** A time as Discord shows it to each reader: "in 23 hours". */
const relative = (ms: number) => `<t:${Math.floor(ms / 1000)}:R>`;
const describe = (job: JobSummary, credits?: number) => jobFacts(job, credits, { bold: (t) => `**${t}**`, code: (t) => `\`${t}\`` });

const MARKUP: ProgressMarkup = {
  bold: (t) => `**${t}**`,
  icons: { queued: '⏳', submitting: '📨', fetching: '📥', rendering: '🎬', warning: '⚠️' },
  platform: 'Discord',
};

export const progressText = (p: ProgressView): string => progressMessage(p, MARKUP);

const resultButtons = (jobId: string) => [
  {
    type: ROW,
    components: [
      button('Re-roll', buttonId('reroll', jobId), STYLE.secondary, '🎲'),
      button('Animate again', buttonId('again', jobId), STYLE.secondary, '✏️'),
      button('Extend', buttonId('extend', jobId), STYLE.secondary, '⏩'),
      button('Delete', buttonId('delete', jobId), STYLE.danger, '🗑️'),
    ],
  },
];

export function renderMessage(m: SurfaceMessage): DiscordPayload {
  const none = { parse: [] as never[] };
  switch (m.kind) {
    case 'progress':
      return {
        content: `${progressText(m.progress)}\n${quote(m.job.prompt)}`,
        components: [{ type: ROW, components: [button('Cancel', buttonId('cancel', m.job.id), STYLE.secondary)] }],
        allowed_mentions: none,
      };
    case 'video':
      return {
        content: `${quote(m.job.prompt)}\n${describe(m.job, m.creditsUsed)} · for <@${m.job.requesterId}>${m.compressed ? `\n🗜️ ${compressedNote(m.compressed, { link: (u) => u, time: relative })}` : ''}`,
        components: resultButtons(m.job.id),
        allowed_mentions: { parse: [], users: [m.job.requesterId] },
      };
    case 'link': {
      const size = m.bytes !== undefined ? `${megabytes(m.bytes)}, ` : '';
      const expiry = m.expiresAt ? ` (link expires ${relative(m.expiresAt)})` : '';
      const where = m.url ? `Download it here: ${m.url}${expiry}` : 'No download link is available.';
      return {
        content: `${quote(m.job.prompt)}\n${describe(m.job, m.creditsUsed)} · for <@${m.job.requesterId}>\nThe video (${size}over the ${megabytes(m.limitBytes)} upload limit here) is too large to attach. ${where}`,
        components: resultButtons(m.job.id),
        allowed_mentions: { parse: [], users: [m.job.requesterId] },
      };
    }
    case 'failed':
      return { content: `❌ ${m.text}\n${quote(m.job.prompt)}`, components: [], allowed_mentions: none };
    case 'cancelled':
      return { content: `🛑 ${m.text}\n${quote(m.job.prompt)}`, components: [], allowed_mentions: none };
    case 'done':
      return { content: `✅ Done in ${clock(m.elapsedSeconds)}${deliveredNote(m.deliveredAs)}\n${quote(m.job.prompt)}`, components: [], allowed_mentions: none };
  }
}

/** A user-facing error, shown ephemerally. */
export function errorText(text: string): string {
  return `⚠️ ${text}`;
}

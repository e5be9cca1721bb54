/** Formatting shared by every surface; each platform adds its own markup. */
import type { CompressedNote, DeliveredAs, JobSummary, ProgressView } from '../../core/ports.js';

/** `m:ss`. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** A text bar such as `█████░░░░░`. */
export function bar(percent: number, width = 14, full = '█', empty = '░'): string {
  const filled = Math.round((Math.max(0, Math.min(100, percent)) / 100) * width);
  return `${full.repeat(filled)}${empty.repeat(width - filled)}`;
}

/** A prompt shortened for display, as a block quote. */
export function quotePrompt(prompt: string, max = 300): string {
  const p = prompt.length > max ? `${prompt.slice(0, max - 1)}…` : prompt;
  return `> ${p.replace(/\n/g, '\n> ')}`;
}

/** What a result shows so it can be reproduced: `lite · 720p · 5s · 16:9 · seed 42 · 120,000 credits`. */
export function jobFacts(job: JobSummary, credits: number | undefined, mark: { bold(s: string): string; code(s: string): string }): string {
  const parts = [mark.bold(job.modelAlias), job.resolution, `${job.duration}s`];
  if (job.aspectRatio) parts.push(job.aspectRatio);
  if (job.sound !== undefined) parts.push(job.sound ? 'sound' : 'no sound');
  if (job.references) parts.push(`${job.references} reference${job.references === 1 ? '' : 's'}`);
  parts.push(`seed ${mark.code(String(job.seed))}`);
  if (credits !== undefined) parts.push(`${credits.toLocaleString('en-US')} credits`);
  return parts.join(' · ');
}

/**
 * What a re-encoded video's caption says: `compressed to fit the upload limit (original 23.4 MB:
 * <link>, expires <time>)`. Each platform says how it writes a link and a time.
 */
export function compressedNote(c: CompressedNote, m: { link(url: string): string; time(ms: number): string }): string {
  const where = c.url ? `: ${m.link(c.url)}${c.expiresAt ? `, expires ${m.time(c.expiresAt)}` : ''}` : '';
  return `compressed to fit the upload limit (original ${(c.originalBytes / 1048576).toFixed(1)} MB${where})`;
}

/** The "done" note's word on how the video went out ('' for a plain file). */
export function deliveredNote(deliveredAs: DeliveredAs): string {
  return deliveredAs === 'link' ? ' · too large to attach, see the link' : deliveredAs === 'compressed' ? ' · compressed to fit the upload limit' : '';
}

/** How a chat platform marks up a progress message. */
export interface ProgressMarkup {
  bold(text: string): string;
  icons: { queued: string; submitting: string; fetching: string; rendering: string; warning: string };
  /** The platform's name, as in "Waiting for Discord to take the video". */
  platform: string;
}

/** `#7`, or `~#450` when rounded. */
export function queuePlace(p: ProgressView): string {
  return `${p.queueApprox ? '~' : ''}#${p.queuePosition}`;
}

/** Why delivery is waiting and when it tries again, or '' when it isn't waiting. */
export function waitingNote(p: ProgressView, platform: string): string {
  if (!p.waiting) return '';
  const next = p.retryInSeconds !== undefined ? ` Next try in ${clock(p.retryInSeconds)}.` : '';
  switch (p.waiting) {
    case 'platform':
      return `The video is ready; ${platform} isn't taking it right now.${next}`;
    case 'download':
      return `The video is ready; downloading it from the provider failed.${next}`;
    case 'disk':
      return `The video is ready and waits for room on the bot's disk.${next}`;
  }
}

/** A chat progress message: status, bar, elapsed and remaining time, queue position, anomalies. */
export function progressMessage(p: ProgressView, m: ProgressMarkup): string {
  const elapsed = `${clock(p.elapsedSeconds)} elapsed`;
  switch (p.phase) {
    case 'queued':
      return `${m.icons.queued} ${m.bold('Waiting for a free slot')}${p.queuePosition ? ` · ${queuePlace(p)} in the queue` : ''} · ${elapsed}`;
    case 'submitting':
      return `${m.icons.submitting} ${m.bold('Sending to the video service…')} · ${elapsed}`;
    case 'downloading':
    case 'delivering': {
      const waiting = waitingNote(p, m.platform);
      if (p.compressing && !waiting) return `${m.icons.fetching} ${m.bold('Compressing the video')} to fit ${m.platform}'s upload limit… · ${elapsed}`;
      return waiting ? `${m.icons.warning} ${m.bold('Delivering…')} ${waiting} · ${elapsed}` : `${m.icons.fetching} ${m.bold('Fetching the video…')} · ${elapsed}`;
    }
    case 'rendering': {
      const pct = p.percent ?? 0;
      const left = p.remainingSeconds === undefined ? '' : p.remainingSeconds > 0 ? ` · ~${clock(p.remainingSeconds)} left` : ' · any moment now';
      const status = p.providerStatus === 'queued' || p.providerStatus === 'waiting' ? 'Queued at the provider' : 'Rendering';
      const anomaly = p.anomaly ? `\n${m.icons.warning} The provider reported something unexpected (${p.anomaly}); still watching.` : '';
      return `${m.icons.rendering} ${m.bold(status)} · ${pct}%\n\`${bar(pct)}\` ${elapsed}${left}${anomaly}`;
    }
  }
}

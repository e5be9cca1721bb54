/** Text for the terminal: a one-line progress bar and plain result lines. */
import type { ProgressView, SurfaceMessage } from '../../core/ports.js';
import { bar as textBar, clock, queuePlace, waitingNote } from '../common/format.js';

export { clock };

export function megabytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MB`;
}

const PHASE: Record<ProgressView['phase'], string> = {
  queued: 'waiting for a slot',
  submitting: 'submitting',
  rendering: 'rendering',
  downloading: 'downloading',
  delivering: 'saving',
};

export function progressLine(p: ProgressView, width = 24): string {
  const pct = p.percent ?? 0;
  const bar = `[${textBar(pct, width, '#', '-')}]`;
  const parts = [`${bar} ${String(pct).padStart(2)}%`, PHASE[p.phase] + (p.providerStatus && p.phase === 'rendering' ? ` (${p.providerStatus})` : '')];
  if (p.queuePosition) parts.push(`${queuePlace(p)} in queue`);
  const waiting = waitingNote(p, 'the output folder');
  if (waiting) parts.push(waiting);
  parts.push(`${clock(p.elapsedSeconds)} elapsed`);
  if (p.remainingSeconds !== undefined && p.phase === 'rendering') parts.push(p.remainingSeconds > 0 ? `~${clock(p.remainingSeconds)} left` : 'any moment now');
  if (p.anomaly) parts.push(`note: ${p.anomaly}`);
  return parts.join(' · ');
}

export function resultLine(m: SurfaceMessage, savedTo?: string): string {
  switch (m.kind) {
    case 'progress':
      return progressLine(m.progress);
    case 'video': {
      const credits = m.creditsUsed !== undefined ? ` · ${m.creditsUsed} credits` : '';
      const compressed = m.compressed ? ` · compressed to fit (original ${megabytes(m.compressed.originalBytes)})` : '';
      return `Saved ${savedTo ?? 'video'} (${megabytes(m.bytes)}) · ${m.job.modelAlias} ${m.job.resolution} ${m.job.duration}s · seed ${m.job.seed}${credits}${compressed}`;
    }
    case 'link': {
      const until = m.expiresAt ? ` (link valid until ${new Date(m.expiresAt).toISOString()})` : '';
      return m.url ? `The video is too large to save here; download it from ${m.url}${until}` : 'The video is too large to save here and no link is available.';
    }
    case 'failed':
    case 'cancelled':
      return m.text;
    case 'done':
      return `Done in ${clock(m.elapsedSeconds)}.`;
  }
}

/** Formatting shared by every surface; each platform adds its own markup. */
import type { JobSummary } from '../../core/ports.js';

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
  parts.push(`seed ${mark.code(String(job.seed))}`);
  if (credits !== undefined) parts.push(`${credits.toLocaleString('en-US')} credits`);
  return parts.join(' · ');
}

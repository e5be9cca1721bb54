/**
 * The terminal as a chat surface: the "conversation" is the output file
 * (`terminal:<absolute path>`), progress is one redrawn line on stderr, and
 * "uploading" is an atomic copy into place, so a repeated delivery after a
 * crash rewrites the same file instead of making a second one.
 */
import { copyFile, mkdir, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ChatSurface, SurfaceMessage } from '../../core/ports.js';
import { progressLine, resultLine } from './terminal-format.js';

export const TERMINAL = 'terminal';

export function terminalConversation(outPath: string): string {
  return `${TERMINAL}:${outPath}`;
}

export function outPathOf(conversation: string): string {
  return conversation.slice(TERMINAL.length + 1);
}

export interface TerminalSurface extends ChatSurface {
  /** Every line written, for tests and the CLI's summary. */
  readonly lines: string[];
}

export function createTerminalSurface(opts: {
  out: NodeJS.WritableStream & { isTTY?: boolean };
  progressIntervalMs?: number;
  /** Hide progress and the "Saved" line; failures and download links are still shown. */
  quiet?: boolean;
}): TerminalSurface {
  const tty = Boolean(opts.out.isTTY);
  const lines: string[] = [];
  let open = false; // a progress line is on screen without a newline
  let seq = 0;

  function write(text: string, transient: boolean) {
    if (tty) {
      opts.out.write(`\r\x1b[2K${text}${transient ? '' : '\n'}`);
      open = transient;
    } else {
      opts.out.write(`${text}\n`);
    }
    lines.push(text);
  }

  function show(message: SurfaceMessage, savedTo?: string) {
    if (message.kind === 'done') return; // the Saved line already said it
    if (opts.quiet && (message.kind === 'progress' || message.kind === 'video')) return;
    if (message.kind === 'progress') write(progressLine(message.progress), true);
    else {
      if (open && !tty) opts.out.write('\n');
      write(resultLine(message, savedTo), false);
    }
  }

  return {
    kind: TERMINAL,
    progressIntervalMs: opts.progressIntervalMs ?? 1000,
    lines,
    async post(conversation, message) {
      show(message);
      return `${conversation}#${++seq}`;
    },
    async edit(_ref, message) {
      show(message);
    },
    async maxUploadBytes() {
      return Number.MAX_SAFE_INTEGER;
    },
    async upload(conversation, file, message) {
      const target = outPathOf(conversation);
      await mkdir(dirname(target), { recursive: true });
      const tmp = `${target}.part`;
      await copyFile(file.path, tmp);
      await rename(tmp, target);
      show(message, target);
      return `${conversation}#${++seq}`;
    },
  };
}

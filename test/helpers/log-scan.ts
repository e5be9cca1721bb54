/**
 * Scanning a bot's captured output for things that must never be logged:
 * secrets (raw, in `Bearer`/`Bot` headers, base64 at any alignment, as Buffer
 * JSON byte arrays), tokens, header and body fragments, binary payloads, and
 * over-long lines. Every finding names the line (1-based), what was found and
 * how the line starts, so a failure says exactly what leaked where.
 */

/** One thing to look for: `label` says what it is, `value` is the exact text. */
export interface Needle {
  label: string;
  value: string;
}

/** One thing to look for by pattern. */
export interface PatternNeedle {
  label: string;
  re: RegExp;
}

export interface Finding {
  /** What was found (e.g. `DISCORD_TOKEN as "Bot <token>"`). */
  label: string;
  /** 1-based line number in the output. */
  line: number;
  /** UTF-8 size of the line. */
  bytes: number;
  /** The pino `msg` (and level name) of the line when it is JSON. */
  msg?: string;
  /** The first 300 characters of the line. */
  head: string;
  /** Up to 80 characters either side of the match. */
  around?: string;
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/** The output's lines (line i is at index i - 1). */
export function logLines(output: string): string[] {
  return output.split('\n');
}

/** A line's pino level and message, when it is a JSON log line. */
export function lineInfo(line: string): { level?: number; msg?: string; obj?: Record<string, unknown> } {
  if (!line.startsWith('{')) return {};
  try {
    const obj = JSON.parse(line) as Record<string, unknown>;
    return {
      ...(typeof obj.level === 'number' ? { level: obj.level } : {}),
      ...(typeof obj.msg === 'string' ? { msg: obj.msg } : {}),
      obj,
    };
  } catch {
    return {};
  }
}

function describeMsg(line: string): string | undefined {
  const { level, msg } = lineInfo(line);
  if (msg === undefined && level === undefined) return undefined;
  return `${level !== undefined ? (LEVELS[level] ?? String(level)) : '?'}: ${msg ?? '(no msg)'}`;
}

function finding(label: string, lines: string[], index: number, at?: { start: number; length: number }): Finding {
  const line = lines[index] ?? '';
  const msg = describeMsg(line);
  return {
    label,
    line: index + 1,
    bytes: Buffer.byteLength(line, 'utf8'),
    ...(msg !== undefined ? { msg } : {}),
    head: line.slice(0, 300),
    ...(at ? { around: line.slice(Math.max(0, at.start - 80), at.start + at.length + 80) } : {}),
  };
}

/**
 * The base64 text that `data` turns into wherever it sits inside a longer base64 string: for each of the three
 * byte alignments, the characters determined by `data` alone. Standard and URL alphabets. Cores shorter than
 * `minChars` are dropped (they would match by chance).
 */
export function base64Forms(data: string | Buffer, minChars = 12): string[] {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const forms = new Set<string>();
  for (let k = 0; k < 3; k++) {
    const padded = Buffer.concat([Buffer.alloc(k), bytes]);
    const full = Math.floor(padded.length / 3) * 4; // characters of complete 3-byte groups
    const encoded = padded.toString('base64').slice(0, full);
    const core = encoded.slice(k === 0 ? 0 : 4);
    if (core.length < minChars) continue;
    forms.add(core);
    forms.add(core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  // The whole value encoded on its own (with padding), as in `Basic <base64>` or a base64 field.
  forms.add(bytes.toString('base64'));
  return [...forms];
}

/**
 * How bytes look once a logger has serialized a Buffer/Uint8Array: JSON's `[0,0,0,32,…]` (Buffer#toJSON),
 * util.inspect's `<Buffer 00 00 00 20 …>` and plain hex.
 */
export function byteForms(bytes: Buffer): string[] {
  const decimal = [...bytes].join(',');
  const spaced = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return [decimal, spaced, bytes.toString('hex')];
}

/** Every form in which a secret must not show up, most specific first (so a finding names the form). */
export function secretNeedles(name: string, secret: string): Needle[] {
  const out: Needle[] = [
    { label: `${name} as "Bearer <token>"`, value: `Bearer ${secret}` },
    { label: `${name} as "Bot <token>"`, value: `Bot ${secret}` },
    { label: `${name} (raw)`, value: secret },
  ];
  const uri = encodeURIComponent(secret);
  if (uri !== secret) out.push({ label: `${name} (URL-encoded)`, value: uri });
  for (const b64 of base64Forms(secret)) out.push({ label: `${name} (base64)`, value: b64 });
  const [decimal] = byteForms(Buffer.from(secret, 'utf8'));
  out.push({ label: `${name} (as a Buffer JSON byte array)`, value: decimal! });
  return out;
}

/**
 * Lines containing a needle. Needles with the same group (the part of the label before " as "/" (") report once
 * per line: the first (most specific) form that matched.
 */
export function findNeedles(lines: string[], needles: Needle[]): Finding[] {
  const group = (label: string) => label.split(/ as | \(/)[0]!;
  const out: Finding[] = [];
  lines.forEach((line, i) => {
    if (line.length === 0) return;
    const seen = new Set<string>();
    for (const n of needles) {
      if (n.value.length === 0 || seen.has(group(n.label))) continue;
      const at = line.indexOf(n.value);
      if (at < 0) continue;
      seen.add(group(n.label));
      out.push(finding(n.label, lines, i, { start: at, length: n.value.length }));
    }
  });
  return out;
}

/** Lines matching a pattern (one finding per pattern and line). Patterns must not be global/sticky. */
export function findPatterns(lines: string[], patterns: PatternNeedle[]): Finding[] {
  const out: Finding[] = [];
  lines.forEach((line, i) => {
    if (line.length === 0) return;
    for (const p of patterns) {
      const m = p.re.exec(line);
      if (m) out.push(finding(`${p.label}: ${JSON.stringify(m[0].slice(0, 120))}`, lines, i, { start: m.index, length: m[0].length }));
    }
  });
  return out;
}

/** Lines longer than `maxBytes` (UTF-8). */
export function findLongLines(lines: string[], maxBytes: number): Finding[] {
  const out: Finding[] = [];
  lines.forEach((line, i) => {
    // A UTF-16 unit is at most 3 UTF-8 bytes, so shorter lines need no measuring.
    if (line.length * 3 <= maxBytes) return;
    const bytes = Buffer.byteLength(line, 'utf8');
    if (bytes > maxBytes) out.push(finding(`line of ${bytes} bytes (limit ${maxBytes})`, lines, i));
  });
  return out;
}

/** A readable failure message: how many findings, then each (up to `max`). */
export function formatFindings(what: string, findings: Finding[], max = 15): string {
  if (findings.length === 0) return `${what}: none`;
  const shown = findings.slice(0, max).map((f) => {
    const parts = [`  - line ${f.line} (${f.bytes} bytes)${f.msg !== undefined ? ` [${f.msg}]` : ''}: ${f.label}`, `      starts: ${JSON.stringify(f.head)}`];
    if (f.around !== undefined) parts.push(`      around: ${JSON.stringify(f.around)}`);
    return parts.join('\n');
  });
  const more = findings.length > max ? `\n  … and ${findings.length - max} more` : '';
  return `${what}: ${findings.length} finding(s)\n${shown.join('\n')}${more}`;
}

/**
 * What is wrong with a bot's captured output, for every end-to-end world to check when it closes:
 * a secret in any of its forms, or a line over 16 KB. Undefined when clean.
 */
export function logProblems(output: string, secrets: Record<string, string>, maxBytes = 16 * 1024): string | undefined {
  const lines = logLines(output);
  const needles = Object.entries(secrets).flatMap(([name, value]) => secretNeedles(name, value));
  const found = [...findNeedles(lines, needles), ...findLongLines(lines, maxBytes)];
  return found.length ? formatFindings('the bot log', found) : undefined;
}

/**
 * Who this instance is, and the one safe shortcut in telling whether another is
 * dead. An instance is alive exactly while its lease in the store is fresh. On
 * Linux, an instance on the same kernel and in the same pid namespace whose
 * process is gone (or whose pid now belongs to a process started at another
 * time) has crashed, and its jobs may be taken over at once instead of when its
 * lease lapses. Anywhere that can't be told for sure (other hosts, containers
 * with their own pid namespace, every instance being pid 1, no /proc), only the
 * lease counts: the shortcut can only speed up a takeover, never declare a live
 * instance dead.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import type { InstanceLease } from './job-store.js';

export interface InstanceIdentity {
  /** Unique per process start. */
  id: string;
  /** Kernel boot id + pid namespace; undefined where it can't be read. */
  host?: string;
  pid: number;
  /** This process's start time in clock ticks since boot (/proc/<pid>/stat field 22). */
  started?: string;
}

/** Start time of a process, or undefined if there is none with this pid (or no /proc). */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19]; // field 22 overall: starttime
  } catch {
    return undefined;
  }
}

function hostKey(): string | undefined {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const pidNs = readlinkSync('/proc/self/ns/pid');
    return boot && pidNs ? `${boot}/${pidNs}` : undefined;
  } catch {
    return undefined;
  }
}

export function currentIdentity(): InstanceIdentity {
  const started = processStartTime(process.pid);
  const host = started ? hostKey() : undefined;
  return {
    id: `${hostname()}-${randomBytes(6).toString('hex')}`,
    pid: process.pid,
    ...(host ? { host } : {}),
    ...(started ? { started } : {}),
  };
}

/** The lease row this identity writes. */
export function leaseOf(me: InstanceIdentity, expiresAt: number): InstanceLease {
  return { instance: me.id, expiresAt, ...(me.host ? { host: me.host } : {}), pid: me.pid, ...(me.started ? { started: me.started } : {}) };
}

/**
 * True only when `lease` certainly belongs to a crashed process on this kernel and
 * pid namespace: its pid is gone or now belongs to a process with another start time.
 */
export function crashedOnThisHost(lease: InstanceLease, me: InstanceIdentity, startTimeOf: (pid: number) => string | undefined = processStartTime): boolean {
  if (!me.host || lease.host !== me.host || lease.instance === me.id) return false;
  if (!lease.pid || !lease.started) return false;
  return startTimeOf(lease.pid) !== lease.started;
}

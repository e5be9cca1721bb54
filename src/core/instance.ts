/**
 * Who owns a job. An instance id names host and pid, so a restarted process on
 * the same host sees at once that the previous owner is dead (no waiting for its
 * lease to lapse), while instances on other hosts are judged by their lease.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

export function newInstanceId(): string {
  return `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;
}

/** true/false when it can be told from here; undefined when only the lease can tell. */
export function ownerAlive(owner: string, self: string): boolean | undefined {
  if (owner === self) return true;
  const [host, pidText] = owner.split('/');
  const [myHost] = self.split('/');
  if (!host || host !== myHost) return undefined;
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (pid === process.pid) return false; // our pid, another id: a previous life of this process slot
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether a job's owner is gone, so this instance may take the job over: the owner
 * is this instance, or is known dead, or (on another host) its lease has lapsed.
 */
export async function ownerGone(
  owner: string | undefined,
  self: string,
  o: { alive: (owner: string, self: string) => boolean | undefined; leaseOf: (owner: string) => Promise<number | undefined>; now: number },
): Promise<boolean> {
  if (!owner || owner === self) return true;
  const alive = o.alive(owner, self);
  if (alive !== undefined) return !alive;
  const lease = await o.leaseOf(owner);
  return lease === undefined || lease <= o.now;
}

/**
 * This instance's lease, and taking over jobs whose owner is gone. The lease is
 * renewed every third of its length; a job is taken over only in the store's
 * own atomic claim (owner without a fresh lease, or one that crashed on this
 * host), so an unreadable lease never counts as "gone": the claim just fails
 * and is tried again at the next heartbeat.
 */
import type { Clock } from './clock.js';
import type { InstanceIdentity } from './instance.js';
import { crashedOnThisHost, leaseOf } from './instance.js';
import type { JobRecord } from './job.js';
import type { JobStore } from './job-store.js';
import type { Logger } from './logger.js';

/** Jobs claimed in one go (the rest follow at the next sweep). */
const CLAIM_BATCH = 1000;

export function createOwnership(d: {
  store: Pick<JobStore, 'putLease' | 'leasesOnHost' | 'claimOrphans'>;
  clock: Clock;
  logger: Logger;
  identity: InstanceIdentity;
  leaseMs: number;
  surfaces: readonly string[];
  startTimeOf?: (pid: number) => string | undefined;
}) {
  const me = d.identity;
  /** Since when the store has taken every renewal (undefined right after a failure). */
  let healthySince: number | undefined;
  /** When the store last took a renewal. */
  let renewedAt: number | undefined;
  return {
    /** Renews the lease; false (and logged) when the store could not be written. */
    async renew(): Promise<boolean> {
      try {
        await d.store.putLease(leaseOf(me, d.clock.now() + d.leaseMs));
        healthySince ??= d.clock.now();
        renewedAt = d.clock.now();
        return true;
      } catch (err) {
        healthySince = undefined;
        d.logger.warn({ err }, 'could not renew the instance lease; retrying at the next heartbeat');
        return false;
      }
    },
    /**
     * Whether lapsed leases can be trusted now. After a store outage every instance's lease may
     * have lapsed while its owner was alive and only unable to renew: wait until the store has
     * taken our renewals for a whole lease period, so live owners have renewed theirs too.
     */
    leasesTrustworthy(): boolean {
      return healthySince !== undefined && d.clock.now() - healthySince >= d.leaseMs;
    },
    /** How long ago the store last took a renewal (Infinity before the first). */
    sinceRenewal(): number {
      return renewedAt === undefined ? Infinity : d.clock.now() - renewedAt;
    },
    /** Claims jobs whose owner is gone. Throws when the store fails: then nothing was claimed. */
    async claim(): Promise<JobRecord[]> {
      const now = d.clock.now();
      const crashed = me.host ? (await d.store.leasesOnHost(me.host, now)).filter((l) => crashedOnThisHost(l, me, d.startTimeOf)).map((l) => l.instance) : [];
      return d.store.claimOrphans({ surfaces: d.surfaces, self: me.id, now, deadOwners: crashed, limit: CLAIM_BATCH });
    },
    /** Ends the lease at once so another instance may take over without waiting. */
    async release(): Promise<void> {
      await d.store.putLease(leaseOf(me, 0)).catch(() => undefined);
    },
  };
}

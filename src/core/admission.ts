/**
 * Who may start another job: the limits one admission is checked against (all
 * at once, atomically, by the store) and the words a refusal is given in. The
 * same limits apply on every surface, in DMs and in the terminal; a place (a
 * Discord server) may add a daily limit of its own.
 */
import { UserFacingError } from './errors.js';
import type { AdmissionLimit, AdmissionLimits, Usage } from './job-store.js';

export interface AdmissionConfig {
  /** Jobs one person may have at the provider at once. */
  maxPerUser: number;
  /** Further jobs one person may have waiting in our queue. */
  maxQueuedPerUser: number;
  /** Jobs waiting in the queue across everyone; undefined = no cap. */
  maxQueueLength?: number;
  /** Jobs one person may start per UTC day, everywhere; undefined = no limit. */
  dailyPerUser?: number;
}

/** A place with rules of its own, e.g. a Discord server's daily limit. */
export interface Place {
  /** Stable key, e.g. `discord:guild:<id>`. */
  key: string;
  /** Jobs per person per UTC day here; 0 or undefined = none. */
  dailyLimit?: number;
  /** How the place is named in a refusal: "this server". */
  label: string;
}

export function admissionLimits(c: AdmissionConfig, place?: Place): AdmissionLimits {
  return {
    perUserActive: c.maxPerUser + c.maxQueuedPerUser,
    ...(c.maxQueueLength !== undefined ? { queueLength: c.maxQueueLength } : {}),
    ...(c.dailyPerUser ? { perUserDaily: c.dailyPerUser } : {}),
    ...(place?.dailyLimit ? { placeDaily: place.dailyLimit } : {}),
  };
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/** Every limit `u` has reached, most pressing first. */
export function limitsReached(limits: AdmissionLimits, u: Usage): AdmissionLimit[] {
  const hit: AdmissionLimit[] = [];
  if (u.active >= limits.perUserActive) hit.push('user_active');
  if (limits.perUserDaily !== undefined && u.today >= limits.perUserDaily) hit.push('user_daily');
  if (limits.placeDaily !== undefined && u.todayInPlace >= limits.placeDaily) hit.push('place_daily');
  if (limits.queueLength !== undefined && u.queueLength >= limits.queueLength) hit.push('queue_length');
  return hit;
}

/** The limit `u` has reached, if any (a quick check before anything is posted or downloaded). */
export function reachedLimit(limits: AdmissionLimits, u: Usage): AdmissionLimit | undefined {
  return limitsReached(limits, u)[0];
}

export function refusal(limit: AdmissionLimit, u: Usage, limits: AdmissionLimits, place?: Place): UserFacingError {
  switch (limit) {
    case 'user_active': {
      const running = u.active - u.queued;
      const parts = [`You have ${plural(running, 'job')} running`];
      if (u.queued) parts.push(`${u.queued} waiting`);
      return new UserFacingError('too_many_jobs', `${parts.join(' and ')}. Wait for one to finish, then try again.`);
    }
    case 'user_daily':
      return new UserFacingError('daily_limit', `You've made ${plural(u.today, 'video')} today; this bot allows ${limits.perUserDaily} a day. Try again tomorrow (UTC).`);
    case 'place_daily':
      return new UserFacingError('daily_limit', `You've made ${plural(u.todayInPlace, 'video')} today; ${place?.label ?? 'this place'} allows ${limits.placeDaily} a day. Try again tomorrow (UTC).`);
    case 'queue_length':
      return new UserFacingError('queue_full', `The queue is full right now (${plural(u.queueLength, 'video')} waiting). Try again in a few minutes.`);
  }
}

// keepConnected: retries a platform that can't connect, and connects again when a connection is lost for good.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../src/core/logger.js';
import type { Logger } from '../src/core/logger.js';
import { keepConnected, within } from '../src/platform-connection.js';
import type { PlatformConnection } from '../src/platform-connection.js';

function fakePlatform(failFirst = 0) {
  let connects = 0;
  let loseIt: (err: Error) => void = () => {};
  const p: PlatformConnection = {
    name: 'Fake',
    async connect() {
      connects += 1;
      if (connects <= failFirst) throw new Error(`attempt ${connects} failed`);
    },
    connected: () => true,
    lost: () => new Promise<Error>((r) => (loseIt = r)),
    stop: async () => undefined,
  };
  return { p, connects: () => connects, lose: (why: string) => loseIt(new Error(why)) };
}

const until = async (fn: () => boolean) => {
  for (let i = 0; i < 200 && !fn(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(fn()).toBe(true);
};

describe('keepConnected', () => {
  it('connects again after the connection is lost, and stops waiting for a loss when stopped', async () => {
    const errors: string[] = [];
    const log: Logger = { ...silentLogger, error: (_o, msg) => void errors.push(msg ?? '') };
    const f = fakePlatform(1);
    const kept = keepConnected(f.p, log, { minMs: 10, maxMs: 20 });
    expect(await kept.firstAttempt).toBe(false);
    await until(() => f.connects() === 2);
    f.lose('shard closed');
    await until(() => f.connects() === 3);
    expect(errors).toEqual(['could not connect to Fake; the rest of the bot keeps running, trying again', 'lost the connection to Fake; the rest of the bot keeps running, connecting again']);
    await kept.stop();
    f.lose('after stop');
    await new Promise((r) => setTimeout(r, 50));
    expect(f.connects()).toBe(3);
  });
});

describe('within', () => {
  it('times out unless progress restarts the wait', async () => {
    await expect(within(new Promise(() => undefined), 30, 'never')).rejects.toThrow('never within 0 s');
    let restart = () => {};
    const slow = new Promise((r) => setTimeout(() => r('done'), 80));
    const ticking = setInterval(() => restart(), 10);
    await expect(within(slow, 30, 'slow', (arm) => (restart = arm))).resolves.toBe('done');
    clearInterval(ticking);
  });
});

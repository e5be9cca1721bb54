/**
 * `rediss://` with a password in the URL: the store talks TLS to a real redis-server that
 * serves only TLS and requires AUTH, from a bot-like process that trusts the server's CA
 * through NODE_EXTRA_CA_CERTS (test/fixtures/redis-tls). Without the CA, or with a wrong
 * password, opening the store fails and says why.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RedisServer } from '../helpers/redis.js';
import { startRedis } from '../helpers/redis.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/redis-tls');
const CA = join(FIXTURES, 'ca.pem');
const PASSWORD = 'pa:ss/wörd';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis({ tls: { cert: join(FIXTURES, 'server.pem'), key: join(FIXTURES, 'server.key'), ca: CA }, password: PASSWORD });
});
afterAll(async () => {
  await redis?.stop();
});

/** Runs test/store/store-child.ts with STORE_URL (and the CA, unless told not to); its JSON line. */
async function child(storeUrl: string, env: Record<string, string> = { NODE_EXTRA_CA_CERTS: CA }): Promise<Record<string, unknown>> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'store-child.ts')], {
    cwd: join(import.meta.dirname, '../..'),
    env: { PATH: process.env.PATH ?? '', STORE_URL: storeUrl, ...env },
    timeout: 30_000,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

it('opens the store over TLS with the password from the URL: jobs and settings round-trip', async () => {
  expect(redis.url()).toMatch(/^rediss:\/\/:pa%3Ass%2Fw%C3%B6rd@127\.0\.0\.1:\d+\/0$/);
  expect(await child(redis.url({ prefix: 'tls' }))).toEqual({ admitted: true, job: expect.stringMatching(/^child-/), setting: { over: 'tls' } });
});

it('refuses a server whose certificate it cannot verify, and a wrong password, saying so', async () => {
  const untrusted = await child(redis.url(), {});
  expect(untrusted.error).toMatch(/could not connect to Redis at 127\.0\.0\.1:\d+\/0: .*(self-signed|unable to verify|certificate)/i);
  const wrong = await child(redis.url().replace(encodeURIComponent(PASSWORD), 'nope'));
  expect(wrong.error).toMatch(/WRONGPASS|invalid username-password/i);
  expect(JSON.stringify([untrusted, wrong])).not.toContain('nope');
});

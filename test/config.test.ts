import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig, requireProvider } from '../src/config.js';
import { ConfigError } from '../src/core/errors.js';
import { createLogger } from '../src/logging.js';

describe('config', () => {
  it('has working defaults', () => {
    const c = loadConfig({ AIMLAPI_KEY: 'k' });
    expect(c).toMatchObject({
      AIMLAPI_BASE_URL: 'https://api.aimlapi.com',
      SEGMIND_BASE_URL: 'https://api.segmind.com',
      SEGMIND_API_MODE: 'async',
      DATA_DIR: './data',
      DEFAULT_MODEL: 'lite',
      DEFAULT_RESOLUTION: '720p',
      MAX_JOBS_PER_USER: 2,
      JOB_MAX_AGE_MINUTES: 30,
      AIMLAPI_LEGACY_ROUTE: false,
    });
    expect(c.STORE_URL).toBeUndefined();
  });

  it('treats empty values as unset and parses numbers and booleans', () => {
    const c = loadConfig({ AIMLAPI_KEY: '', SEGMIND_API_KEY: 's', MAX_JOBS_PER_USER: '5', AIMLAPI_LEGACY_ROUTE: 'yes', AIMLAPI_BASE_URL: 'http://127.0.0.1:9/' });
    expect(c.AIMLAPI_KEY).toBeUndefined();
    expect(c.MAX_JOBS_PER_USER).toBe(5);
    expect(c.AIMLAPI_LEGACY_ROUTE).toBe(true);
    expect(c.AIMLAPI_BASE_URL).toBe('http://127.0.0.1:9/');
  });

  it('reports every problem at once', () => {
    let err: unknown;
    try {
      loadConfig({ AIMLAPI_BASE_URL: 'not a url', MAX_JOBS_PER_USER: 'two', DEFAULT_RESOLUTION: '8k', SEGMIND_API_MODE: 'fast', POLL_MIN_INTERVAL_MS: '50000', POLL_MAX_INTERVAL_MS: '2000' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    for (const name of ['AIMLAPI_BASE_URL', 'MAX_JOBS_PER_USER', 'DEFAULT_RESOLUTION', 'SEGMIND_API_MODE', 'POLL_MIN_INTERVAL_MS']) expect(problems).toContain(name);
    expect((err as ConfigError).problems.length).toBeGreaterThanOrEqual(5);
    expect(problems).toContain('MAX_JOBS_PER_USER: must be a whole number');
    expect(() => loadConfig({ MAX_VIDEO_MB: '0' })).toThrow('MAX_VIDEO_MB: must be at least 1');
  });

  it('JOB_RETENTION_DAYS is 30 days by default and at least 1; LOG_PRETTY is left to the terminal unless set', () => {
    const defaults = loadConfig({});
    expect(defaults.JOB_RETENTION_DAYS).toBe(30);
    expect(defaults.LOG_PRETTY).toBeUndefined();
    expect(loadConfig({ JOB_RETENTION_DAYS: '90', LOG_PRETTY: 'yes' })).toMatchObject({ JOB_RETENTION_DAYS: 90, LOG_PRETTY: true });
    expect(loadConfig({ LOG_PRETTY: 'false' }).LOG_PRETTY).toBe(false);
    expect(loadConfig({ LOG_PRETTY: '' }).LOG_PRETTY).toBeUndefined();
    expect(() => loadConfig({ JOB_RETENTION_DAYS: '0' })).toThrow('JOB_RETENTION_DAYS: must be at least 1');
    expect(() => loadConfig({ LOG_PRETTY: 'sometimes' })).toThrow('LOG_PRETTY: must be true or false');
  });

  it('Discord sharding: DISCORD_SHARD_COUNT auto or a number, DISCORD_SHARDS ids below it (default all)', () => {
    const shards = (env: Record<string, string>) => {
      const c = loadConfig(env);
      return [c.DISCORD_SHARD_COUNT, c.DISCORD_SHARDS];
    };
    expect(shards({})).toEqual(['auto', undefined]);
    expect(shards({ DISCORD_SHARD_COUNT: ' AUTO ', DISCORD_SHARDS: ' , ' })).toEqual(['auto', undefined]);
    expect(shards({ DISCORD_SHARD_COUNT: '4' })).toEqual([4, undefined]);
    expect(shards({ DISCORD_SHARD_COUNT: '4', DISCORD_SHARDS: '3, 1,' })).toEqual([4, [3, 1]]);
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (err) {
        return (err as ConfigError).problems;
      }
      return [];
    };
    for (const bad of ['0', '-1', '1.5', 'two', '100001']) expect(problems({ DISCORD_SHARD_COUNT: bad })).toEqual(['DISCORD_SHARD_COUNT: must be auto or a whole number from 1 to 100000']);
    expect(problems({ DISCORD_SHARD_COUNT: '2', DISCORD_SHARDS: '0,x,-1' })).toEqual(['DISCORD_SHARDS: x, -1 are not a whole number from 0 to 99999']);
    expect(problems({ DISCORD_SHARD_COUNT: '2', DISCORD_SHARDS: '1,1' })).toEqual(['DISCORD_SHARDS: 1 is listed more than once']);
    expect(problems({ DISCORD_SHARD_COUNT: '2', DISCORD_SHARDS: '0,2,3' })).toEqual(['DISCORD_SHARDS: 2, 3 are out of range; with DISCORD_SHARD_COUNT=2 the ids are 0 to 1']);
    // With auto the count is Discord's at each connect, so a fixed list of ids could cover other servers later.
    expect(problems({ DISCORD_SHARDS: '0' })).toEqual([expect.stringMatching(/^DISCORD_SHARDS: needs a fixed DISCORD_SHARD_COUNT .*not auto/)]);
    expect(problems({ DISCORD_SHARD_COUNT: 'auto', DISCORD_SHARDS: '0,1' })).toHaveLength(1);
    // Each field's own problem is reported without a second one about the pair.
    expect(problems({ DISCORD_SHARD_COUNT: 'x', DISCORD_SHARDS: '5' })).toEqual(['DISCORD_SHARD_COUNT: must be auto or a whole number from 1 to 100000']);
  });

  it('asks for a provider key when none is set', () => {
    expect(() => requireProvider(loadConfig({}))).toThrow(/AIMLAPI_KEY.*SEGMIND_API_KEY/);
    expect(() => requireProvider(loadConfig({ SEGMIND_API_KEY: 'x' }))).not.toThrow();
  });
});

describe('logging', () => {
  it('never writes keys or tokens', async () => {
    const chunks: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        chunks.push(String(chunk));
        cb();
      },
    });
    const log = createLogger('info', sink);
    const config = loadConfig({ AIMLAPI_KEY: 'sk-very-secret-aiml', SEGMIND_API_KEY: 'SG_0123456789abcdef' });
    log.info({ config }, 'started');
    log.info({ headers: { authorization: 'Bearer sk-very-secret-aiml', 'x-api-key': 'SG_0123456789abcdef' } }, 'request');
    log.child({ platform: 'discord' }).info({ DISCORD_TOKEN: 'discord-token-value' }, 'login');
    await new Promise((r) => setImmediate(r));
    const out = chunks.join('');
    expect(out).toContain('started');
    expect(out).toContain('[redacted]');
    for (const secret of ['sk-very-secret-aiml', 'SG_0123456789abcdef', 'discord-token-value']) expect(out).not.toContain(secret);
  });
});

/**
 * Opens the store named by STORE_URL in a process of its own (so that process-wide settings
 * such as NODE_EXTRA_CA_CERTS apply), admits a job, writes and reads a setting, and prints
 * what it read back as one JSON line; on failure prints `{"error": message}`.
 */
import { openStore } from '../../src/store.js';

const id = `child-${process.pid}`;
try {
  const store = await openStore(process.env.STORE_URL, '/nonexistent', { commandTimeoutMs: 2000 });
  const admitted = await store.jobs.admit(
    {
      id, version: 0, surface: 'discord', conversation: 'discord:c', requester: { id: 'u1' }, meta: {}, provider: 'aimlapi', status: 'queued',
      request: { modelId: 'seedance-1-0-lite-t2v', prompt: 'p', resolution: '720p', duration: 5, seed: 1, fixedCamera: false, watermark: false },
      createdAt: 1, updatedAt: 1, attempts: { submit: 0, delivery: 0 },
    },
    { perUserActive: 5 },
  );
  await store.kv.set('setting', { over: 'tls' });
  console.log(JSON.stringify({ admitted: admitted.ok, job: (await store.jobs.get(id))?.id, setting: await store.kv.get('setting') }));
  await store.close();
} catch (err) {
  console.log(JSON.stringify({ error: err instanceof Error ? err.message : String(err) }));
}

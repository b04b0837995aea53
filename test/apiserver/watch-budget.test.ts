// Watchers that do not read cannot make the server hold their events: one past its own limit, or the
// furthest behind while all together hold more than the server's total, is dropped and its connection
// cut (ending the response kept every byte written to it until the client read them: its response
// then completed). A watcher that reads gets every event.
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestApiServer, type TestApiServer } from '../helpers/apiserver';
import { waitFor } from '../helpers/wait';

const CMS = '/api/v1/namespaces/default/configmaps';
const PAD = 'x'.repeat(200_000);
let t: TestApiServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/**
 * A watch from resourceVersion `rv` (live events only), counting MODIFIED events as they are read.
 * `read` false: a client that reads nothing until `resume()`.
 */
function watch(server: TestApiServer, rv: string, read: boolean) {
  const state = { closed: false, complete: false, lines: 0 };
  let tail = '';
  let response: IncomingMessage | undefined;
  const req = httpsRequest(new URL(`${CMS}?watch=1&resourceVersion=${rv}`, server.url), { headers: { Authorization: `Bearer ${server.token}` }, ca: server.server.caCert });
  const ready = new Promise<void>((done, fail) => {
    req.on('response', (res) => {
      response = res;
      res.on('data', (d: Buffer) => {
        const parts = (tail + d.toString('utf8')).split('\n');
        tail = parts.pop()!;
        state.lines += parts.filter((l) => l.includes('"MODIFIED"')).length;
      });
      res.on('error', () => undefined); // a dropped connection: seen as close without complete
      res.on('close', () => {
        state.closed = true;
        state.complete = res.complete;
      });
      if (!read) res.pause();
      done();
    });
    req.on('error', (e) => (response ? undefined : fail(e)));
  });
  req.end();
  return { state, ready, resume: () => response?.resume(), destroy: () => req.destroy() };
}

/** 8 rounds of 10 concurrent patches of 200 KB each: 80 events, several per turn of the server. */
async function churn(server: TestApiServer) {
  for (let round = 0; round < 8; round++)
    await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const r = await server.request('PATCH', `${CMS}/cm-${i}`, { raw: JSON.stringify({ data: { pad: `${round}${PAD}` } }), headers: { 'Content-Type': 'application/merge-patch+json' } });
        expect(r.status, r.text).toBe(200);
      }),
    );
}

describe.each([
  ['its own limit', { perWatchBytes: 4 * 1024 * 1024, totalBytes: 1024 * 1024 * 1024 }],
  ["the server's total", { perWatchBytes: 1024 * 1024 * 1024, totalBytes: 8 * 1024 * 1024 }],
])('watchers that never read, past %s', (_what, watchBuffer) => {
  it('are dropped and their connections closed; a watcher that reads gets every event', async () => {
    t = await startTestApiServer({ watchBuffer });
    for (let i = 0; i < 10; i++) expect((await t.request('POST', CMS, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}` }, data: {} } })).status).toBe(201);
    const rv = (await t.request('GET', CMS)).body.metadata.resourceVersion as string;
    const unread = Array.from({ length: 4 }, () => watch(t!, rv, false));
    const reader = watch(t, rv, true);
    try {
      await Promise.all([...unread.map((w) => w.ready), reader.ready]);
      await churn(t);
      await waitFor('the reader got all 80 events', () => reader.state.lines === 80, { timeoutMs: 20_000, describe: async () => `${reader.state.lines} events` });
      // Read now: a dropped watch's connection was cut (its response never completes) before all
      // 80 events; a watch the server still held would deliver all 80 and stay open.
      for (const w of unread) w.resume();
      await waitFor('every unread watch cut off', () => unread.every((w) => w.state.closed), {
        timeoutMs: 20_000,
        describe: async () => JSON.stringify(unread.map((w) => w.state)),
      });
      for (const w of unread) {
        expect(w.state.complete).toBe(false);
        expect(w.state.lines).toBeLessThan(80);
      }
      expect(reader.state.closed).toBe(false);
    } finally {
      for (const w of [...unread, reader]) w.destroy();
    }
  }, 60_000);
});

// The list decoder's worker thread (see list-decoder.ts): decodes the pages it is sent with their
// kind's schema (decodeListPage) and answers each with the page as JSON text, which the main thread
// parses far faster than it would scan, parse and check the page itself.
import { parentPort } from 'node:worker_threads';
import type { z } from 'zod';
import { KIND_BY_NAME } from '../api/registry';
import { decodeListPage, ListMemo } from './list-decode';
import type { WorkerReply, WorkerRequest } from './list-decoder';

const memos = new Map<number, ListMemo>();

parentPort?.on('message', (m: WorkerRequest) => {
  if (m.type === 'end') {
    memos.delete(m.list);
    return;
  }
  let reply: WorkerReply;
  try {
    const schema = KIND_BY_NAME.get(m.kind)?.schema as z.ZodObject | undefined;
    if (!schema) throw new Error(`no schema for kind ${m.kind}`);
    let memo = memos.get(m.list);
    if (!memo) memos.set(m.list, (memo = new ListMemo()));
    reply = { id: m.id, text: JSON.stringify(decodeListPage(m.body, m.req, schema, memo)) };
  } catch (err) {
    reply = { id: m.id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(reply);
});

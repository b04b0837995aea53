// One watch request: GET …?watch=true through the client's pipeline and authentication, the response
// split into lines, each line one event.
//
// In place of client-node's Watch (1.4), which decodes each line to a string with readline and parses
// it whole: an informer that throws members away (managedFields; a HostFilter's programs in the
// operator) names them here, and they are cut from each line's bytes before it is parsed, as a list's
// are (parseWatchEvent). A line the scanner does not follow is parsed whole, as before. A line that is
// not JSON ends the watch with an error: skipping it, as client-node does, would lose an event, and
// the informer's next watch resumes from the last resourceVersion it saw.
import type { KubeClient } from './client';
import { ApiError, statusError, toApiError } from './errors';
import { parseWatchEvent, type ItemMemberDrops } from './strip-managed';

export type WatchEventHandler = (type: string, object: any) => void;

export interface WatchRequest {
  path: string;
  query: Record<string, string | number | boolean | undefined>;
  /** Members of each event's object to cut before it is parsed. */
  drops?: ItemMemberDrops;
}

/**
 * Starts a watch and returns the controller that aborts it (at once: also while it connects).
 * `done` is called once: `null` when the server ends the stream or the watch is aborted, else the
 * error (an ApiError for a non-200 answer, with the server's Status message).
 */
export function startWatch(client: KubeClient, req: WatchRequest, onEvent: WatchEventHandler, done: (err: unknown) => void): AbortController {
  const ac = new AbortController();
  let finished = false;
  const finish = (err: unknown) => {
    if (finished) return;
    finished = true;
    if (!ac.signal.aborted) ac.abort();
    done(err);
  };
  ac.signal.addEventListener('abort', () => finish(null));
  const push = lineSplitter((line) => {
    let ev: { type: unknown; object: unknown };
    try {
      ev = parseEventLine(line, req.drops);
    } catch {
      return finish(new ApiError(500, 'InternalError', `watch ${req.path}: an event line is not JSON`));
    }
    if (typeof ev?.type === 'string') onEvent(ev.type, ev.object);
  });
  client.openStream(req.path, { ...req.query, watch: true }, ac.signal).then(
    (res) => {
      ac.signal.addEventListener('abort', () => res.destroy());
      if (finished) return void res.destroy();
      if (res.statusCode !== 200) {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => finish(statusError(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
      } else {
        res.on('data', (chunk: Buffer) => {
          if (!finished) push(chunk);
        });
        res.on('end', () => finish(null));
      }
      res.on('error', (err) => finish(toApiError(err)));
      res.on('close', () => finish(null));
    },
    (err) => finish(toApiError(err)),
  );
  return ac;
}

/** An event line parsed, the `drops` cut from its object first (whole when the scanner does not follow it). */
export function parseEventLine(line: Buffer, drops: ItemMemberDrops | undefined): { type: unknown; object: unknown } {
  return (drops && parseWatchEvent(line, drops)) || JSON.parse(line.toString('utf8'));
}

/**
 * Feeds chunks in, calls `onLine` with each complete line's bytes (without the newline; blank lines
 * skipped). A line within one chunk is a view of it, not a copy.
 */
export function lineSplitter(onLine: (line: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer[] = [];
  return (chunk) => {
    let at = 0;
    for (let nl = chunk.indexOf(0x0a, at); nl >= 0; nl = chunk.indexOf(0x0a, at)) {
      const tail = chunk.subarray(at, nl);
      const line = pending.length ? Buffer.concat([...pending, tail]) : tail;
      pending = [];
      at = nl + 1;
      if (!isBlank(line)) onLine(line);
    }
    // A copy, not a view: a view would keep the whole chunk alive until the line ends.
    if (at < chunk.length) pending.push(at === 0 ? chunk : Buffer.from(chunk.subarray(at)));
  };
}

const isBlank = (b: Buffer) => {
  for (const c of b) if (c !== 0x20 && c !== 0x0d && c !== 0x09) return false;
  return true;
};

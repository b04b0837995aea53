// Decodes informers' list pages on a worker thread (list-worker.ts), so a restart's lists use the
// second core: at vmworld the operator's main thread spent most of a restart scanning, parsing and
// schema-checking 200,000 objects while the API server, serving them from its cache, left its core
// mostly idle. The main thread copies each page's bytes to the worker and parses the answer: the
// checked objects as JSON, each distinct spec or status text sent once per list (list-decode.ts).
//
// One worker per process, started on the first list and ended after a quiet spell (its heap is memory
// the operator does not need between lists). Without a worker (none can start, or it failed) pages are
// decoded in-thread by the same function: a list is never lost to the worker.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { z } from 'zod';
import { silentLogger, type Logger } from '../util/log';
import { ApiError } from './errors';
import { decodeListPage, ListMemo, type DecodedPage, type PageRequest } from './list-decode';

export type WorkerRequest =
  | { type: 'page'; id: number; list: number; kind: string; body: Uint8Array; req: PageRequest }
  | { type: 'end'; list: number };
export type WorkerReply = { id: number; text: string } | { id: number; error: string };

/** The worker's script: built (dist/runtime/list-worker.js, beside any chunk of the bundle) or the source. */
function workerScript(): { file: string; ts: boolean } | undefined {
  for (const [rel, ts] of [['../runtime/list-worker.js', false], ['./list-worker.ts', true]] as const) {
    const file = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(file)) return { file, ts };
  }
  return undefined;
}

/**
 * A worker for the script. The TypeScript source (a development checkout, the tests) loads through
 * tsx's API in the worker: a worker does not inherit a loader given with --import.
 */
function startWorker(script: { file: string; ts: boolean }): Worker {
  if (!script.ts) return new Worker(script.file);
  const api = createRequire(import.meta.url).resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(pathToFileURL(api).href)}).then((m) => { (m.register ?? m.default.register)(); return import(${JSON.stringify(pathToFileURL(script.file).href)}); })`;
  return new Worker(code, { eval: true });
}

interface Pending {
  resolve(p: DecodedPage): void;
  reject(e: Error): void;
  session: ListSession;
  /** The page's bytes, kept to decode here if the worker fails first. */
  body: Uint8Array;
}

export interface ListDecoderOptions {
  logger?: Logger;
  /** The worker ends after this long without a list (default 10 s). */
  idleMs?: number;
  /** false: decode in-thread always (tests, and a process that must not start threads). */
  worker?: boolean;
}

export class ListDecoder {
  private worker: Worker | undefined;
  /** The worker failed or could not start: in-thread from then on. */
  private broken = false;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private nextList = 1;
  private openLists = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  /** Pages decoded, by where. */
  readonly stats = { worker: 0, inThread: 0 };

  constructor(private readonly opts: ListDecoderOptions = {}) {
    this.log = (opts.logger ?? silentLogger).child({ component: 'list-decoder' });
    if (opts.worker === false) this.broken = true;
  }

  /** One list's pages, decoded with one memo; `close` when the list is done or abandoned. */
  open(kind: string, schema: z.ZodObject, req: PageRequest): ListSession {
    this.openLists++;
    clearTimeout(this.idleTimer);
    return new ListSession(this, this.nextList++, kind, schema, req);
  }

  /** Ends the worker now (pending pages fail); the next list starts another. */
  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    const w = this.worker;
    this.worker = undefined;
    this.failPending(new Error('list decoder closed'));
    await w?.terminate();
  }

  /** @internal */
  send(session: ListSession, list: number, kind: string, body: Buffer, req: PageRequest): Promise<DecodedPage> | undefined {
    const w = this.ensureWorker();
    if (!w) return undefined;
    const id = this.nextId++;
    const copy = new Uint8Array(body); // the caller's buffer is reused after this returns
    return new Promise<DecodedPage>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, session, body: copy });
      // Copied, not transferred: kept until the answer, for a worker that fails before it.
      w.postMessage({ type: 'page', id, list, kind, body: copy, req } satisfies WorkerRequest);
      this.stats.worker++;
    });
  }

  /** @internal */
  end(list: number): void {
    this.worker?.postMessage({ type: 'end', list } satisfies WorkerRequest);
    if (--this.openLists === 0 && this.worker) {
      this.idleTimer = setTimeout(() => void this.close(), this.opts.idleMs ?? 10_000);
      this.idleTimer.unref();
    }
  }

  private ensureWorker(): Worker | undefined {
    if (this.worker || this.broken) return this.worker;
    const script = workerScript();
    if (!script) return this.fail('its script is not installed');
    let w: Worker;
    try {
      w = startWorker(script);
    } catch (err) {
      return this.fail(err instanceof Error ? err.message : String(err));
    }
    w.unref(); // a process with nothing else to do exits
    w.on('message', (r: WorkerReply) => {
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if ('error' in r) p.reject(new ApiError(0, 'InvalidResponse', r.error));
      else p.resolve(JSON.parse(r.text) as DecodedPage);
    });
    w.on('error', (err) => {
      if (this.worker === w) this.worker = undefined;
      this.fail(err.message);
    });
    w.on('exit', (code) => {
      if (this.worker !== w) return; // ended by close()
      this.worker = undefined;
      this.fail(`it exited with code ${code}`);
    });
    this.worker = w;
    return w;
  }

  /** No worker from now on; pages it had not answered are decoded here, in the order they were sent. */
  private fail(why: string): undefined {
    if (!this.broken) this.log.warn({ why }, 'list decoder worker unavailable; decoding lists in-thread');
    this.broken = true;
    const left = [...this.pending.values()];
    this.pending.clear();
    for (const p of left) p.session.decodeHere(p.body).then(p.resolve, p.reject);
    return undefined;
  }

  private failPending(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

export class ListSession {
  private memo: ListMemo | undefined;
  private closed = false;

  constructor(
    private readonly decoder: ListDecoder,
    private readonly id: number,
    private readonly kind: string,
    private readonly schema: z.ZodObject,
    private readonly req: PageRequest,
  ) {}

  /**
   * The page in `body` (a reused buffer: read before this returns), decoded on the worker or, without
   * one, here; a body that is not a list object fails with InvalidResponse.
   */
  decode(body: Buffer): Promise<DecodedPage> {
    return (!this.memo && this.decoder.send(this, this.id, this.kind, body, this.req)) || this.decodeHere(body);
  }

  /**
   * In-thread, from the first page the worker could not take: this list's memo is here from then on
   * (its part indexes start again; the reader takes each page's parts before its items).
   */
  decodeHere(body: Uint8Array): Promise<DecodedPage> {
    try {
      this.decoder.stats.inThread++;
      return Promise.resolve(decodeListPage(body, this.req, this.schema, (this.memo ??= new ListMemo())));
    } catch (err) {
      return Promise.reject(new ApiError(0, 'InvalidResponse', err instanceof Error ? err.message : String(err)));
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.decoder.end(this.id);
  }
}

// The HTTP transport under client-node's request pipeline (RequestContext in, ResponseContext out),
// instead of node-fetch 2 (half the per-request CPU in our measurements, and no false "Premature close"
// errors on reused keep-alive sockets: node-fetch issues #1576, #1767). Requests go through undici's
// connection pool when the client registered one for the request's agent (`sendThrough`), else through
// Node's http/https; lists read in place (`sendParsed`) and watches always go through Node's.
import http from 'node:http';
import https from 'node:https';
import type { Dispatcher } from 'undici';
import { ResponseContext, type PromiseHttpLibrary, type RequestContext } from '@kubernetes/client-node';

/**
 * The undici pool that sends the requests of a keep-alive agent (same server, same TLS options).
 * Per request, undici's dispatch took 25 to 35 µs of the client's CPU where Node's https.request took
 * 60 to 95 µs (small PATCHes and their metadata-only answers, 32 in flight, keep-alive, TLS), and the
 * server 30 % less (headers and body arrive as one write). Until every status is written, a vmworld
 * cold start sends about 170,000 writes.
 */
const dispatchers = new WeakMap<http.Agent, Dispatcher>();

/** Requests through `agent` go through `pool` from now on (watches still use the agent). */
export function sendThrough(agent: http.Agent, pool: Dispatcher): void {
  dispatchers.set(agent, pool);
}

type Sink<R> = () => { data(c: Buffer): void; end(status: number, headers: http.IncomingHttpHeaders): R };

export class NodeHttpLibrary implements PromiseHttpLibrary {
  /**
   * `userAgent`: sent on every request that does not set its own. `timeoutMs`: a request without its
   * whole response by then fails with ETIMEDOUT (a plain timer: an AbortSignal.timeout per request was
   * 2 % of the operator's CPU during a status storm).
   */
  constructor(
    private readonly userAgent?: string,
    private readonly timeoutMs?: number,
  ) {}

  /**
   * Sends a bodiless request and resolves with the response as a stream, once its headers arrive: a
   * watch. No timeout (the caller bounds it); the socket gets TCP keep-alive probes every 30 s, as
   * client-node's Watch sets, so a dead peer is noticed.
   */
  open(ctx: RequestContext): Promise<http.IncomingMessage> {
    const url = new URL(ctx.getUrl());
    const mod = url.protocol === 'https:' ? https : http;
    const headers = this.headersOf(ctx);
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { method: ctx.getHttpMethod(), headers, agent: ctx.getAgent(), signal: ctx.getSignal() }, resolve);
      req.on('socket', (s) => s.setKeepAlive(true, 30_000));
      req.on('error', reject);
      req.end();
    });
  }

  private headersOf(ctx: RequestContext): Record<string, string> {
    const headers: Record<string, string> = { ...ctx.getHeaders() };
    if (this.userAgent && !Object.keys(headers).some((k) => k.toLowerCase() === 'user-agent')) headers['User-Agent'] = this.userAgent;
    return headers;
  }

  send(ctx: RequestContext): Promise<ResponseContext> {
    return this.exchange(ctx, () => {
      const chunks: Buffer[] = [];
      return {
        data: (c) => chunks.push(c),
        end: (status, headers) => {
          const buf = Buffer.concat(chunks);
          const h: Record<string, string> = {};
          for (const [k, v] of Object.entries(headers)) if (v !== undefined) h[k] = Array.isArray(v) ? v.join(', ') : v;
          return new ResponseContext(status, h, { text: async () => buf.toString('utf8'), binary: async () => buf });
        },
      };
    });
  }

  /**
   * Like `send`, for a caller that parses the body at once: a 2xx body goes to `parse` (synchronously,
   * in a buffer reused for the next response: `parse` must not keep it), any other body or one `parse`
   * declines (undefined, or a throw) comes back as text. A restart lists ~400 pages of about a
   * megabyte: a fresh buffer for each (Buffer.concat) is new memory to fault in and to collect, and
   * external memory that pushes V8 into collections. Replaying a vmworld restart's pages, the
   * informers' CPU to sync fell from 11.1 to 10.6 s (medians of 8 alternating runs). Through Node's
   * https, not the undici pool: in 5 alternating operator restarts at vmworld, lists read through the
   * pool cost the API server 2.98 s of CPU against 2.31 s, and Ready came later (6.73 against 6.15 s).
   */
  sendParsed(ctx: RequestContext, parse: (body: Buffer) => unknown): Promise<ParsedResponse> {
    return this.exchange(ctx, () => {
      const body = new ScratchBody(this.scratch);
      return {
        data: (c) => body.push(c),
        end: (status) => {
          const bytes = body.view();
          let parsed: unknown;
          if (status >= 200 && status <= 299) {
            try {
              parsed = parse(bytes);
            } catch {
              parsed = undefined; // the caller parses the text whole and judges it
            }
          }
          const text = parsed === undefined ? bytes.toString('utf8') : '';
          body.release();
          return { status, parsed, text };
        },
      };
    }, false);
  }

  private readonly scratch = new ScratchPool();

  /** One request with the whole response: `sink` takes the body's chunks and makes the result at its end. */
  private exchange<R>(ctx: RequestContext, sink: Sink<R>, viaPool = true): Promise<R> {
    const url = new URL(ctx.getUrl());
    const raw = ctx.getBody();
    let body: string | undefined;
    if (typeof raw === 'string') body = raw;
    else if (raw instanceof URLSearchParams) body = raw.toString();
    else if (raw !== undefined) return Promise.reject(new Error('multipart bodies are not supported'));
    const headers = this.headersOf(ctx);
    const agent = ctx.getAgent();
    const pool = viaPool && agent && !ctx.getSignal() ? dispatchers.get(agent as http.Agent) : undefined;
    if (pool) return this.dispatch(pool, url, ctx.getHttpMethod(), headers, body, sink);
    if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body));
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const fail = (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      };
      const req = mod.request(url, { method: ctx.getHttpMethod(), headers, agent, signal: ctx.getSignal() }, (res) => {
        const s = sink();
        res.on('data', (c: Buffer) => s.data(c));
        res.on('error', fail);
        res.on('end', () => {
          clearTimeout(timer);
          try {
            resolve(s.end(res.statusCode ?? 0, res.headers));
          } catch (err) {
            reject(err); // e.g. a body too large for one string: the call fails, the process does not
          }
        });
      });
      req.on('error', fail);
      if (this.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          const err = this.timeoutError();
          req.destroy(err);
          reject(err);
        }, this.timeoutMs);
      }
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  /** The same exchange through an undici pool (its dispatch handler: no stream objects per request). */
  private dispatch<R>(pool: Dispatcher, url: URL, method: string, headers: Record<string, string>, body: string | undefined, sink: Sink<R>): Promise<R> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let controller: Dispatcher.DispatchController | undefined;
      let s: ReturnType<Sink<R>> | undefined;
      let status = 0;
      let responseHeaders: http.IncomingHttpHeaders = {};
      let settled = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err);
      };
      pool.dispatch(
        // No undici timeouts: the whole exchange is bounded by timeoutMs below, as with Node's http.
        { origin: url.origin, path: url.pathname + url.search, method: method as Dispatcher.HttpMethod, headers, body, headersTimeout: 0, bodyTimeout: 0 },
        {
          onRequestStart: (c) => {
            controller = c;
            // Timed out while it waited for a free connection: it must not be sent after all.
            if (settled) c.abort(this.timeoutError());
          },
          onResponseStart: (_c, statusCode, h) => {
            if (statusCode < 200) return; // informational (100 Continue): the answer follows
            status = statusCode;
            responseHeaders = h;
            s = sink();
          },
          onResponseData: (_c, chunk) => s?.data(chunk),
          onResponseEnd: () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            try {
              resolve((s ?? sink()).end(status, responseHeaders));
            } catch (err) {
              reject(err);
            }
          },
          onResponseError: (_c, err) => fail(err),
        },
      );
      if (this.timeoutMs !== undefined && !settled) {
        timer = setTimeout(() => {
          const err = this.timeoutError();
          controller?.abort(err);
          fail(err);
        }, this.timeoutMs);
      }
    });
  }

  private timeoutError(): Error {
    return Object.assign(new Error(`no complete response within ${this.timeoutMs} ms`), { code: 'ETIMEDOUT' });
  }
}

/** What sendParsed resolves with: `parsed` when the body was 2xx and `parse` took it, else `text`. */
export interface ParsedResponse {
  status: number;
  parsed: unknown;
  text: string;
}

/** Buffers of this size or less go back to the pool; a larger body (a 37 MB HostFilter page) is not kept. */
const SCRATCH_MAX = 16 * 2 ** 20;
const SCRATCH_FIRST = 2 * 2 ** 20;
/** Free buffers kept: one per request in flight is enough (the informers prefetch one page each). */
const SCRATCH_KEEP = 8;

/** Response buffers handed from one parsed response to the next. */
export class ScratchPool {
  private readonly free: Buffer[] = [];

  constructor(
    private readonly first = SCRATCH_FIRST,
    readonly max = SCRATCH_MAX,
    private readonly keep = SCRATCH_KEEP,
  ) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.first);
  }

  give(b: Buffer): void {
    if (b.length <= this.max && this.free.length < this.keep) this.free.push(b);
  }

  get size(): number {
    return this.free.length;
  }
}

/**
 * A body assembled in a pooled buffer. A chunk that does not fit starts a list of chunks, joined once
 * at the end into a fresh buffer (growing by doubling copied a 37 MB body ~6 times into new memory,
 * and fresh pages fault); the joined buffer, when not too large, replaces the smaller one in the pool.
 */
export class ScratchBody {
  private buf: Buffer;
  private length = 0;
  /** Bytes in `buf` (the rest is in `overflow`). */
  private head = 0;
  private overflow: Buffer[] | undefined;

  constructor(private readonly pool: ScratchPool) {
    this.buf = pool.take();
  }

  push(c: Buffer): void {
    if (!this.overflow && this.length + c.length <= this.buf.length) this.head += c.copy(this.buf, this.length);
    else (this.overflow ??= []).push(c);
    this.length += c.length;
  }

  /** The whole body (valid until release). */
  view(): Buffer {
    if (this.overflow) {
      const joined = Buffer.allocUnsafeSlow(this.length <= this.pool.max ? Math.max(this.length, this.buf.length * 2) : this.length);
      let at = this.buf.copy(joined, 0, 0, this.head);
      for (const c of this.overflow) at += c.copy(joined, at);
      this.head = at;
      this.buf = joined;
      this.overflow = undefined;
    }
    return this.buf.subarray(0, this.length);
  }

  /** Back to the pool, once: nothing may read the view after this. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.pool.give(this.buf);
    this.length = this.head = 0;
  }

  private released = false;
}

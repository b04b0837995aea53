// HTTP plumbing: body reading with the request size limit, media types, and writing responses.
import type { IncomingMessage, ServerResponse } from 'node:http';
import YAML from 'yaml';
import { MAX_JSON_DEPTH, scanJson, valueDepth } from './jsonscan';
import { ApiError, badRequest, tooLarge } from './errors';

/** kube-apiserver's limit for request bodies. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume();
      reject(tooLarge(`Request entity too large: limit is ${limit}`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) over = true;
      else chunks.push(c);
    });
    req.on('end', () => (over ? reject(tooLarge(`Request entity too large: limit is ${limit}`)) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

export interface MediaType {
  type: string;
  params: Record<string, string>;
}

export function parseMediaTypes(header: string | undefined): MediaType[] {
  if (!header) return [];
  return header.split(',').map((part) => {
    const [type, ...params] = part.split(';').map((s) => s.trim());
    const p: Record<string, string> = {};
    for (const kv of params) {
      const i = kv.indexOf('=');
      if (i > 0) p[kv.slice(0, i).trim()] = kv.slice(i + 1).trim().replace(/^"|"$/g, '');
    }
    return { type: (type ?? '').toLowerCase(), params: p };
  });
}

export type ResponseShape = 'object' | 'table' | 'metadata';

/** What the client asked for: full objects, a meta.k8s.io Table, or PartialObjectMetadata. */
export function negotiate(accept: string | undefined): ResponseShape | 'unacceptable' {
  const types = parseMediaTypes(accept);
  if (types.length === 0) return 'object';
  for (const t of types) {
    const jsonish = t.type === 'application/json' || t.type === '*/*' || t.type === 'application/*' || t.type === 'application/yaml';
    if (!jsonish) continue;
    if (t.params.as === 'Table' && t.params.g === 'meta.k8s.io') return 'table';
    if ((t.params.as === 'PartialObjectMetadata' || t.params.as === 'PartialObjectMetadataList') && t.params.g === 'meta.k8s.io') return 'metadata';
    if (!t.params.as) return 'object';
  }
  return 'unacceptable';
}

export interface DecodeOptions {
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
  /** Duplicate-key warnings go here under Warn. */
  warnings?: string[];
}

export function parseJsonBody(buf: Buffer, contentType: string | undefined, opts: DecodeOptions = {}): unknown {
  const text = buf.toString('utf8');
  if (!text.trim()) throw badRequest('Object \'Kind\' is missing in \'\'');
  const type = parseMediaTypes(contentType)[0]?.type ?? 'application/json';
  let value: unknown;
  if (type.includes('yaml')) {
    try {
      value = YAML.parse(text, { maxAliasCount: 100, uniqueKeys: opts.fieldValidation === 'Strict' });
    } catch (e) {
      throw badRequest(`the body of the request could not be decoded: ${(e as Error).message.split('\n')[0]}`);
    }
    if (valueDepth(value) > MAX_JSON_DEPTH) throw badRequest(`the body of the request could not be decoded: exceeded max depth of ${MAX_JSON_DEPTH}`);
    return value;
  }
  const scan = scanJson(text);
  if (scan.depth > MAX_JSON_DEPTH) throw badRequest(`the body of the request could not be decoded: exceeded max depth of ${MAX_JSON_DEPTH}`);
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw badRequest(`the body of the request could not be decoded: ${(e as Error).message.split('\n')[0]}`);
  }
  if (scan.duplicates.length) {
    if (opts.fieldValidation === 'Strict') throw badRequest(`strict decoding error: ${scan.duplicates.map((d) => `json: duplicate field "${d}"`).join(', ')}`);
    if (opts.fieldValidation !== 'Ignore') opts.warnings?.push(...scan.duplicates.map((d) => `duplicate field "${d}"`));
  }
  return value;
}

/**
 * The UTF-8 bytes of texts end to end, measured and written into one buffer (each text encoded on
 * its own: none may end with half a surrogate pair the next begins with). Buffer.from(a + b)
 * first copied the joined text whole into a new string, and Buffer.from of a large text took about
 * four times as long as measuring and writing it (a 160 KB HostFilter in every watch event).
 */
export function utf8Bytes(...texts: string[]): Buffer {
  const lengths = texts.map((t) => Buffer.byteLength(t));
  const out = Buffer.allocUnsafe(lengths.reduce((a, b) => a + b, 0));
  let at = 0;
  for (let i = 0; i < texts.length; i++) at += out.write(texts[i]!, at, lengths[i]!, 'utf8');
  return out;
}

export function sendJson(res: ServerResponse, code: number, body: string | object, headers: Record<string, string> = {}) {
  // Encoded once: Buffer.byteLength and then end(text) walked a 160 KB HostFilter twice (8 % of the
  // server's CPU while a cold start writes filters).
  const bytes = utf8Bytes(typeof body === 'string' ? body : JSON.stringify(body));
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': bytes.length,
    'Cache-Control': 'no-cache, private',
    ...headers,
  });
  res.end(bytes);
}

/**
 * A JSON body sent in pieces (chunked): lists can exceed the largest string V8 can build (~512 MiB),
 * so items are serialized as they are written, waiting for the socket to drain when it holds more than
 * PARTS_BUFFERED_BYTES. Each piece stays under PART_BYTES: a larger string is allocated in V8's
 * large-object space, which only a full GC frees, and an operator relisting 200,000 objects (400
 * pages) left one such string per page behind.
 */
export async function sendJsonParts<T>(res: ServerResponse, code: number, head: string, items: Iterable<T>, text: (item: T) => string, tail: string) {
  res.writeHead(code, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
  let buf: string[] = [head];
  let size = head.length;
  let first = true;
  for (const item of items) {
    const t = text(item);
    if (!first) {
      buf.push(',');
      size++;
    }
    first = false;
    buf.push(t);
    size += t.length;
    if (size >= PART_BYTES) {
      res.write(buf.join(''));
      buf = [];
      size = 0;
      if (res.writableLength >= PARTS_BUFFERED_BYTES) await new Promise<void>((r) => { res.once('drain', r); res.once('close', r); });
      if (res.destroyed) return;
    }
  }
  buf.push(tail);
  res.end(buf.join(''));
}

/** Largest piece of a chunked JSON body (characters): under V8's large-object size (128 KiB). */
const PART_BYTES = 64 * 1024;
/** What a response may hold unsent before its writer waits for the socket to drain. */
const PARTS_BUFFERED_BYTES = 4 * 1024 * 1024;

export function sendError(res: ServerResponse, err: ApiError, headers: Record<string, string> = {}) {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, err.code, err.toStatus(), headers);
}

// Durability for --data-dir: checksummed records in generation-numbered files, read as a stream.
//
//   log.<G>   header record, then one record per write (put/del), fsync'd (group commit) before
//             the write is acknowledged and before its watch event goes out.
//   snap.<G>  the whole state at some resourceVersion R (header, one record per object, trailer);
//             written beside the live log, so it never blocks writes, then fsync + rename + fsync dir.
//
// Every record is one line: `<16 hex of sha1(json)> <json>\n`. Startup loads the newest snapshot and
// replays log.<S> onward. A damaged record is never skipped: startup refuses, naming file, offset and
// what it found, unless `recover` truncates there (reporting what was dropped). The one expected
// damage, a torn last record of the last log (crash mid-write, never acknowledged), is dropped with a
// log line. Compaction to G+1: open log.<G+1> and switch appends to it, write snap.<G+1> from the
// (immutable) objects as of that moment in small async chunks, then delete generation G's files.
// A crash at any point leaves snap.<G> + log.<G> + log.<G+1>, which replay to the same state.
import { createHash } from 'node:crypto';
import {
  chmodSync, closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readSync, renameSync, statSync, unlinkSync, writeSync,
} from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../util/log';
import { toJson, type Obj } from './store';

export type WalRecord =
  | { op: 'put'; res: string; rv: number; obj: Obj }
  | { op: 'del'; res: string; rv: number; key: string };

export interface Snapshot {
  rv: number;
  objects: { res: string; obj: Obj }[];
}

/** A data directory that cannot be loaded without losing something: startup refuses. */
export class DataDirError extends Error {}

const FORMAT = 2;
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
/** Compact when the log holds this many bytes (large HostFilters make bytes the binding limit). */
const DEFAULT_COMPACT_BYTES = 256 * 1024 * 1024;
const READ_CHUNK = 8 * 1024 * 1024;
/** Snapshot writes are issued in pieces of about this size, yielding to the event loop between them. */
const WRITE_CHUNK = 1024 * 1024;
const LEGACY_LOG = 'wal.jsonl';
const LEGACY_SNAPSHOT = 'snapshot.jsonl';

const digest = (json: string) => createHash('sha1').update(json).digest('hex').slice(0, 16);
export const encodeRecord = (json: string) => `${digest(json)} ${json}\n`;

const logName = (g: number) => `log.${g}`;
const snapName = (g: number) => `snap.${g}`;

/** Creates the directory (0700) or tightens an existing one. */
export function ensureDataDir(dir: string) {
  mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  if ((statSync(dir).mode & 0o777) !== DIR_MODE) chmodSync(dir, DIR_MODE);
}

function fsyncDir(dir: string) {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

interface Damage {
  offset: number;
  what: string;
}

/**
 * Streams the records of one file to `each` (never holding the whole file in memory). Stops at the
 * first damaged record; returns where good data ends, the damage, and how many lines follow it.
 */
export function scanFile(path: string, each: (value: any, offset: number) => void): { end: number; damage?: Damage; torn: boolean; after: number } {
  const fd = openSync(path, 'r');
  try {
    const size = Math.max(0, statSync(path).size);
    let pos = 0;
    let carry: Buffer = Buffer.alloc(0);
    let carryStart = 0;
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    let damage: Damage | undefined;
    let after = 0;
    let end = 0;
    const line = (bytes: Buffer, offset: number) => {
      if (damage) {
        after++;
        return;
      }
      const sp = bytes.indexOf(0x20);
      if (sp !== 16) {
        damage = { offset, what: `no checksum (found ${JSON.stringify(bytes.subarray(0, 24).toString('latin1'))})` };
        return;
      }
      const json = bytes.toString('utf8', 17);
      const want = bytes.toString('latin1', 0, 16);
      if (digest(json) !== want) {
        damage = { offset, what: `checksum mismatch (record of ${bytes.length} bytes)` };
        return;
      }
      let value: unknown;
      try {
        value = JSON.parse(json);
      } catch (e) {
        damage = { offset, what: `unparsable record: ${(e as Error).message}` };
        return;
      }
      try {
        each(value, offset);
      } catch (e) {
        damage = { offset, what: (e as Error).message };
        return;
      }
      end = offset + bytes.length + 1;
    };
    while (pos < size) {
      const n = readSync(fd, buf, 0, Math.min(READ_CHUNK, size - pos), pos);
      if (n <= 0) break;
      let chunk = buf.subarray(0, n);
      let base = pos;
      if (carry.length) {
        chunk = Buffer.concat([carry, chunk]);
        base = carryStart;
      }
      pos += n;
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(0x0a, start);
        if (nl < 0) break;
        line(chunk.subarray(start, nl), base + start);
        start = nl + 1;
      }
      carry = Buffer.from(chunk.subarray(start));
      carryStart = base + start;
    }
    let torn = false;
    if (carry.length) {
      // No newline: the write of this record never completed.
      if (!damage) {
        damage = { offset: carryStart, what: `incomplete record (${carry.length} bytes, no end of line)` };
        torn = true;
      } else after++;
    } else if (damage && after === 0) torn = true; // damaged last line: also a torn write
    return { end: damage ? damage.offset : end, damage, torn, after };
  } finally {
    closeSync(fd);
  }
}

export interface LoadOptions {
  /** Truncate at the first damaged record instead of refusing to start. */
  recover?: boolean;
  log?: Logger;
}

export interface Loaded {
  rv: number;
  records: number;
  /** Generation of the live log (appends continue there). */
  gen: number;
  /** Bytes in the live log. */
  logBytes: number;
  /** What --recover dropped (empty otherwise). */
  dropped: string[];
}

function generations(dir: string, prefix: string): number[] {
  const out: number[] = [];
  for (const f of readdirSync(dir)) {
    const m = new RegExp(`^${prefix}\\.(\\d+)$`).exec(f);
    if (m) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}

/**
 * Loads the data directory, feeding every record to `apply` in resourceVersion order. Throws
 * DataDirError (file, offset, what) on damage unless opts.recover.
 */
export function loadDataDir(dir: string, apply: (rec: WalRecord) => void, opts: LoadOptions = {}): Loaded {
  ensureDataDir(dir);
  const dropped: string[] = [];
  for (const f of readdirSync(dir)) if (f.endsWith('.tmp')) unlinkSync(join(dir, f)); // unfinished snapshot
  if (existsSync(join(dir, LEGACY_LOG)) || existsSync(join(dir, LEGACY_SNAPSHOT))) migrateLegacy(dir, opts.log);
  const snaps = generations(dir, 'snap');
  const logs = generations(dir, 'log');
  const fail = (file: string, d: Damage) =>
    new DataDirError(`data directory ${dir}: ${file} is damaged at byte offset ${d.offset}: ${d.what}; start with --recover to truncate it there (everything after is dropped)`);
  let rv = 0;
  let records = 0;
  let snapGen = -1;
  // Newest snapshot; a damaged one is only passed over with --recover and an older complete one.
  for (let i = snaps.length - 1; i >= 0; i--) {
    const g = snaps[i]!;
    const file = snapName(g);
    let headRv = -1;
    let count = 0;
    let ended = false;
    const buffered: WalRecord[] = [];
    const scan = scanFile(join(dir, file), (v: any, offset) => {
      if (headRv < 0) {
        if (v?.snapshot !== FORMAT || typeof v.rv !== 'number') throw new Error('not a snapshot header');
        headRv = v.rv;
        return;
      }
      if (ended) throw new Error('record after the end marker');
      if (typeof v?.end === 'number') {
        if (v.end !== count) throw new Error(`end marker says ${v.end} objects, found ${count}`);
        ended = true;
        return;
      }
      if (typeof v?.res !== 'string' || typeof v?.obj?.metadata !== 'object') throw new Error(`not an object record at ${offset}`);
      buffered.push({ op: 'put', res: v.res, rv: Number(v.obj.metadata.resourceVersion), obj: v.obj });
      count++;
    });
    const damage = scan.damage ?? (!ended ? { offset: scan.end, what: 'snapshot ends without its end marker' } : undefined);
    if (damage) {
      if (!opts.recover || i === 0) throw fail(file, damage);
      dropped.push(`${file}: damaged at offset ${damage.offset} (${damage.what}); using ${snapName(snaps[i - 1]!)} instead`);
      continue;
    }
    for (const rec of buffered) apply(rec);
    records += buffered.length;
    rv = headRv;
    snapGen = g;
    break;
  }
  const liveLogs = logs.filter((g) => g >= Math.max(snapGen, 0));
  const first = snapGen >= 0 ? snapGen : (liveLogs[0] ?? 0);
  if (snapGen >= 0 && liveLogs[0] !== snapGen)
    throw new DataDirError(`data directory ${dir}: ${logName(snapGen)} is missing (it holds the writes after ${snapName(snapGen)}); refusing to start without them`);
  if (snapGen < 0 && liveLogs.length === 0 && (existsSync(join(dir, 'token')) || existsSync(join(dir, 'serving.crt'))))
    throw new DataDirError(`data directory ${dir}: its log and snapshot are missing but the directory was used before (its token or certificate is there); refusing to start empty`);
  for (let i = 0; i < liveLogs.length; i++) {
    if (liveLogs[i] !== first + i)
      throw new DataDirError(`data directory ${dir}: ${logName(first + i)} is missing between ${logName(first)} and ${logName(liveLogs.at(-1)!)}`);
  }
  let logBytes = 0;
  let gen = liveLogs.at(-1) ?? 0;
  for (let i = 0; i < liveLogs.length; i++) {
    const g = liveLogs[i]!;
    const file = logName(g);
    const path = join(dir, file);
    let headed = false;
    let n = 0;
    const scan = scanFile(path, (v: any) => {
      if (!headed) {
        if (v?.log !== g || v?.format !== FORMAT) throw new Error('not a log header for this generation');
        headed = true;
        return;
      }
      if ((v?.op !== 'put' && v?.op !== 'del') || typeof v.res !== 'string' || typeof v.rv !== 'number') throw new Error('not a log record');
      if (v.op === 'put' && typeof v.obj?.metadata !== 'object') throw new Error('put record without an object');
      if (v.rv <= rv) return; // already in the snapshot (written while compacting)
      apply(v as WalRecord);
      rv = v.rv;
      n++;
    });
    records += n;
    const last = i === liveLogs.length - 1;
    if (scan.damage) {
      if (last && scan.torn && headed) {
        opts.log?.warn({ file: path, offset: scan.damage.offset, found: scan.damage.what }, 'dropping a torn final record (a write interrupted by a crash, never acknowledged)');
      } else if (!opts.recover) throw fail(file, scan.damage);
      else dropped.push(`${file}: truncated at offset ${scan.damage.offset} (${scan.damage.what}); ${scan.after} later record(s) dropped`);
      truncate(path, scan.end);
      if (!last) {
        for (const later of liveLogs.slice(i + 1)) {
          dropped.push(`${logName(later)}: removed (after the damage in ${file})`);
          unlinkSync(join(dir, logName(later)));
        }
        gen = g;
        logBytes = scan.end;
        break;
      }
    }
    if (last) logBytes = scan.end;
  }
  if (liveLogs.length === 0) gen = Math.max(snapGen, 0);
  // Leftovers of a compaction that finished its rename but not its cleanup.
  for (const g of snaps) if (g < snapGen) unlinkSync(join(dir, snapName(g)));
  for (const g of logs) if (g < first) unlinkSync(join(dir, logName(g)));
  if (dropped.length) opts.log?.warn({ dropped }, 'recovered the data directory: records were dropped');
  return { rv, records, gen, logBytes, dropped };
}

function truncate(path: string, end: number) {
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, end);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * The format before checksums (wal.jsonl + snapshot.jsonl) is converted once: read strictly (only a
 * torn last line may be dropped), written as snap.1 + log.1, then the old files are removed.
 */
function migrateLegacy(dir: string, log?: Logger) {
  const objects = new Map<string, { res: string; obj: Obj }>();
  let rv = 0;
  const lines = (file: string, each: (v: any) => void) => {
    const path = join(dir, file);
    if (!existsSync(path)) return;
    const all: { text: string; offset: number }[] = [];
    // Old files are plain JSON lines; scan them with the same streaming splitter.
    const fd = openSync(path, 'r');
    try {
      const size = statSync(path).size;
      let carry = '';
      let off = 0;
      let pos = 0;
      const buf = Buffer.allocUnsafe(READ_CHUNK);
      while (pos < size) {
        const n = readSync(fd, buf, 0, Math.min(READ_CHUNK, size - pos), pos);
        pos += n;
        const parts = (carry + buf.toString('utf8', 0, n)).split('\n');
        carry = parts.pop()!;
        for (const p of parts) {
          all.push({ text: p, offset: off });
          off += Buffer.byteLength(p) + 1;
          if (all.length > 1000) {
            for (const l of all.splice(0, all.length - 1)) parseOne(l);
          }
        }
      }
      for (const l of all) parseOne(l, false);
      if (carry) log?.warn({ file: path, offset: off }, 'dropping a torn final record of the old-format log');
    } finally {
      closeSync(fd);
    }
    function parseOne(l: { text: string; offset: number }, _more = true) {
      if (!l.text) return;
      let v: unknown;
      try {
        v = JSON.parse(l.text);
      } catch (e) {
        throw new DataDirError(`data directory ${dir}: old-format ${file} is damaged at byte offset ${l.offset}: ${(e as Error).message}; refusing to convert it`);
      }
      each(v);
    }
  };
  let head = true;
  lines(LEGACY_SNAPSHOT, (v) => {
    if (head) {
      rv = v.rv;
      head = false;
      return;
    }
    objects.set(`${v.res}\n${v.obj.metadata.namespace ?? ''}/${v.obj.metadata.name}`, v);
  });
  lines(LEGACY_LOG, (v) => {
    if (v.rv <= rv) return;
    rv = v.rv;
    if (v.op === 'put') objects.set(`${v.res}\n${v.obj.metadata.namespace ?? ''}/${v.obj.metadata.name}`, { res: v.res, obj: v.obj });
    else objects.delete(`${v.res}\n${v.key.includes('/') ? v.key : `/${v.key}`}`);
  });
  writeSnapshotSync(dir, 1, { rv, objects: [...objects.values()] });
  writeLogHeader(dir, 1);
  for (const f of [LEGACY_LOG, LEGACY_SNAPSHOT]) if (existsSync(join(dir, f))) unlinkSync(join(dir, f));
  fsyncDir(dir);
  log?.info({ dir, objects: objects.size, resourceVersion: rv }, 'converted the data directory to the checksummed format');
}

function writeSnapshotSync(dir: string, gen: number, snap: Snapshot) {
  const tmp = join(dir, `${snapName(gen)}.tmp`);
  const fd = openSync(tmp, 'w', FILE_MODE);
  try {
    writeSync(fd, encodeRecord(JSON.stringify({ snapshot: FORMAT, rv: snap.rv })));
    for (const o of snap.objects) writeSync(fd, encodeRecord(JSON.stringify(o)));
    writeSync(fd, encodeRecord(JSON.stringify({ end: snap.objects.length })));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, snapName(gen)));
}

function writeLogHeader(dir: string, gen: number) {
  const fd = openSync(join(dir, logName(gen)), 'w', FILE_MODE);
  try {
    writeSync(fd, encodeRecord(JSON.stringify({ log: gen, format: FORMAT })));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export interface WalOptions {
  /** Compact after this many records in the live log. */
  compactAfter?: number;
  /** ... or this many bytes. */
  compactBytes?: number;
  log?: Logger;
  /** Test hook: called between snapshot chunks while compacting. */
  onCompactChunk?: () => void;
}

interface Pending {
  data: string[];
  after: (() => void)[];
}

export class Wal {
  private pending: Pending = { data: [], after: [] };
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private running = false;
  private fh: FileHandle | undefined;
  private entries = 0;
  private bytes: number;
  private compacting: Promise<void> | undefined;
  private rotateRequested = false;
  /** Set when a write failed: memory and disk disagree, so nothing more is acknowledged. */
  private broken: Error | undefined;
  /** Longest synchronous slice of the last compaction (ms), and compactions done (for benches). */
  readonly stats = { compactions: 0, lastCompactionMs: 0, longestSliceMs: 0 };

  private constructor(
    private readonly dir: string,
    private gen: number,
    logBytes: number,
    private readonly snapshotSource: () => Snapshot,
    private readonly opts: WalOptions,
  ) {
    this.bytes = logBytes;
  }

  /** Continues the live log of a loaded directory (a new one for an empty directory). */
  static async open(dir: string, loaded: Pick<Loaded, 'gen' | 'logBytes'>, snapshotSource: () => Snapshot, opts: WalOptions = {}): Promise<Wal> {
    ensureDataDir(dir);
    let logBytes = loaded.logBytes;
    if (!existsSync(join(dir, logName(loaded.gen)))) {
      writeLogHeader(dir, loaded.gen);
      fsyncDir(dir);
      logBytes = statSync(join(dir, logName(loaded.gen))).size;
    }
    const wal = new Wal(dir, loaded.gen, logBytes, snapshotSource, opts);
    wal.fh = await open(join(dir, logName(loaded.gen)), 'a', FILE_MODE);
    return wal;
  }

  /** Queues a record; `objJson` is the object's JSON when the caller already has it. */
  append(rec: WalRecord, objJson?: string) {
    const json =
      rec.op === 'put' && objJson !== undefined
        ? `{"op":"put","res":${JSON.stringify(rec.res)},"rv":${rec.rv},"obj":${objJson}}`
        : JSON.stringify(rec);
    const line = encodeRecord(json);
    this.pending.data.push(line);
    this.entries++;
    this.bytes += line.length;
  }

  /** Runs `fn` once everything appended so far is durable (watch events wait for this). */
  afterDurable(fn: () => void) {
    this.pending.after.push(fn);
    this.kick();
  }

  sync(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.broken) return reject(this.broken);
      this.waiters.push({ resolve, reject });
      this.kick();
    });
  }

  private kick() {
    if (!this.running) {
      this.running = true;
      setImmediate(() => void this.loop());
    }
  }

  private async loop() {
    while (this.waiters.length > 0 || this.pending.after.length > 0) {
      const batch = this.pending;
      this.pending = { data: [], after: [] };
      const waiters = this.waiters;
      this.waiters = [];
      try {
        if (this.broken) throw this.broken;
        if (batch.data.length && this.fh) {
          await this.fh.write(batch.data.join(''));
          await this.fh.datasync();
        }
        for (const fn of batch.after) fn();
        if (!this.compacting && (this.rotateRequested || this.entries > (this.opts.compactAfter ?? 200_000) || this.bytes > (this.opts.compactBytes ?? DEFAULT_COMPACT_BYTES))) {
          this.rotateRequested = false;
          await this.rotate();
        }
        waiters.forEach((w) => w.resolve());
      } catch (e) {
        this.broken ??= new Error(`the data directory could not be written: ${(e as Error).message}`);
        this.opts.log?.error({ err: e }, 'data directory write failed; no further writes are acknowledged');
        waiters.forEach((w) => w.reject(this.broken));
      }
    }
    this.running = false;
  }

  /** Compacts now (tests and benches); resolves when the snapshot is in place. */
  async compactNow(): Promise<void> {
    await this.compacting;
    // Rotate between batches, like the automatic trigger.
    this.rotateRequested = true;
    await this.sync();
    await this.compacting;
  }

  /** Switches appends to a new generation and starts writing its snapshot in the background. */
  private async rotate() {
    const next = this.gen + 1;
    writeLogHeader(this.dir, next);
    fsyncDir(this.dir);
    const snap = this.snapshotSource();
    await this.fh?.close();
    this.fh = await open(join(this.dir, logName(next)), 'a', FILE_MODE);
    const old = this.gen;
    this.gen = next;
    this.entries = 0;
    this.bytes = statSync(join(this.dir, logName(next))).size;
    this.compacting = this.writeSnapshot(next, old, snap)
      .catch((e) => this.opts.log?.error({ err: e }, 'compaction failed; the previous generation stays in use'))
      .finally(() => (this.compacting = undefined));
  }

  private async writeSnapshot(gen: number, old: number, snap: Snapshot) {
    const started = performance.now();
    let longest = 0;
    const tmp = join(this.dir, `${snapName(gen)}.tmp`);
    const fh = await open(tmp, 'w', FILE_MODE);
    try {
      let buf: string[] = [encodeRecord(JSON.stringify({ snapshot: FORMAT, rv: snap.rv }))];
      let size = 0;
      let slice = performance.now();
      for (const o of snap.objects) {
        // Objects are immutable and their JSON is cached: this is mostly hashing and copying.
        const line = encodeRecord(`{"res":${JSON.stringify(o.res)},"obj":${toJson(o.obj)}}`);
        buf.push(line);
        size += line.length;
        if (size >= WRITE_CHUNK) {
          longest = Math.max(longest, performance.now() - slice);
          await fh.write(buf.join(''));
          this.opts.onCompactChunk?.();
          buf = [];
          size = 0;
          slice = performance.now();
        }
      }
      buf.push(encodeRecord(JSON.stringify({ end: snap.objects.length })));
      longest = Math.max(longest, performance.now() - slice);
      await fh.write(buf.join(''));
      await fh.sync();
    } finally {
      await fh.close();
    }
    renameSync(tmp, join(this.dir, snapName(gen)));
    fsyncDir(this.dir);
    for (const f of [snapName(old), logName(old)]) if (existsSync(join(this.dir, f))) unlinkSync(join(this.dir, f));
    this.stats.compactions++;
    this.stats.lastCompactionMs = performance.now() - started;
    this.stats.longestSliceMs = longest;
    this.opts.log?.info({ generation: gen, objects: snap.objects.length, ms: Math.round(this.stats.lastCompactionMs) }, 'data directory compacted');
  }

  async close() {
    if (this.waiters.length || this.pending.data.length) await this.sync().catch(() => undefined);
    await this.compacting;
    await this.fh?.close();
    this.fh = undefined;
  }
}

// Durability for --data-dir: an append-only log of writes, fsync'd (group commit) before the
// response, plus a snapshot that compacts it at startup and whenever the log grows large.
// A torn last line (crash in the middle of a write) is ignored on replay: it was never acknowledged.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Obj } from './store';

export type WalRecord =
  | { op: 'put'; res: string; rv: number; obj: Obj }
  | { op: 'del'; res: string; rv: number; key: string };

export interface Snapshot {
  rv: number;
  objects: { res: string; obj: Obj }[];
}

const SNAPSHOT = 'snapshot.jsonl';
/** Compact when the log holds this much (large HostFilters make bytes the binding limit). */
const COMPACT_BYTES = 512 * 1024 * 1024;
const LOG = 'wal.jsonl';

/** Reads snapshot + log; returns the records to replay in order (snapshot first). */
export function readDataDir(dir: string): { rv: number; records: WalRecord[] } {
  mkdirSync(dir, { recursive: true });
  const records: WalRecord[] = [];
  let rv = 0;
  const snap = join(dir, SNAPSHOT);
  if (existsSync(snap)) {
    const lines = readFileSync(snap, 'utf8').split('\n');
    const head = JSON.parse(lines[0]!) as { rv: number };
    rv = head.rv;
    for (const line of lines.slice(1)) {
      if (!line) continue;
      const { res, obj } = JSON.parse(line) as { res: string; obj: Obj };
      records.push({ op: 'put', res, rv: Number(obj.metadata.resourceVersion), obj });
    }
  }
  const log = join(dir, LOG);
  if (existsSync(log)) {
    for (const line of readFileSync(log, 'utf8').split('\n')) {
      if (!line) continue;
      let rec: WalRecord;
      try {
        rec = JSON.parse(line) as WalRecord;
      } catch {
        break; // torn tail
      }
      if (rec.rv <= rv) continue;
      records.push(rec);
      rv = rec.rv;
    }
  }
  return { rv, records };
}

export class Wal {
  private pending: string[] = [];
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private running = false;
  private fh: FileHandle | undefined;
  private entries = 0;
  private bytes = 0;

  private constructor(
    private readonly dir: string,
    private readonly snapshotSource: () => Snapshot,
    private readonly compactAfter: number,
  ) {}

  /** Writes a fresh snapshot of the current state and starts an empty log. */
  static async open(dir: string, snapshotSource: () => Snapshot, compactAfter = 200_000): Promise<Wal> {
    const wal = new Wal(dir, snapshotSource, compactAfter);
    wal.writeSnapshot();
    wal.fh = await open(join(dir, LOG), 'w');
    return wal;
  }

  /** Queues a record; `objJson` is the object's JSON when the caller already has it. */
  append(rec: WalRecord, objJson?: string) {
    const line =
      rec.op === 'put' && objJson !== undefined
        ? `{"op":"put","res":${JSON.stringify(rec.res)},"rv":${rec.rv},"obj":${objJson}}\n`
        : JSON.stringify(rec) + '\n';
    this.pending.push(line);
    this.entries++;
    this.bytes += line.length;
  }

  sync(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (!this.running) {
        this.running = true;
        setImmediate(() => void this.loop());
      }
    });
  }

  private async loop() {
    while (this.waiters.length > 0) {
      const data = this.pending.join('');
      this.pending = [];
      const waiters = this.waiters;
      this.waiters = [];
      try {
        if (data && this.fh) {
          await this.fh.write(data);
          await this.fh.datasync();
        }
        if ((this.entries > this.compactAfter || this.bytes > COMPACT_BYTES) && this.pending.length === 0) await this.compact();
        waiters.forEach((w) => w.resolve());
      } catch (e) {
        waiters.forEach((w) => w.reject(e));
      }
    }
    this.running = false;
  }

  private async compact() {
    this.writeSnapshot();
    await this.fh?.close();
    this.fh = await open(join(this.dir, LOG), 'w');
    this.entries = 0;
    this.bytes = 0;
  }

  private writeSnapshot() {
    const snap = this.snapshotSource();
    const tmp = join(this.dir, `${SNAPSHOT}.tmp`);
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, JSON.stringify({ rv: snap.rv }) + '\n');
      let buf: string[] = [];
      for (const o of snap.objects) {
        buf.push(JSON.stringify(o));
        if (buf.length >= 1000) {
          writeSync(fd, buf.join('\n') + '\n');
          buf = [];
        }
      }
      if (buf.length) writeSync(fd, buf.join('\n') + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(this.dir, SNAPSHOT));
    const dfd = openSync(this.dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  }

  async close() {
    if (this.waiters.length) await this.sync().catch(() => undefined);
    await this.fh?.close();
    this.fh = undefined;
  }
}

// The data directory (src/apiserver/wal.ts): checksummed records, compaction beside live writes,
// crash copies taken mid-compaction, refusal on damage with file/offset, --recover, the torn tail,
// the old format's conversion, file modes, and watch events only after durability.
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Store, type Obj } from '../../src/apiserver/store';
import { DataDirError, loadDataDir, Wal, type LoadOptions } from '../../src/apiserver/wal';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'vmsafe-store-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const snapshotOf = (store: Store) => () => ({
  rv: store.rv,
  objects: [...store.resources.values()].flatMap((r) => [...r.objects.values()].map((obj) => ({ res: r.key, obj }))),
});

async function openStore(dir: string, opts: LoadOptions & { compactAfter?: number; onCompactChunk?: () => void } = {}) {
  const store = new Store();
  const loaded = loadDataDir(dir, (rec) => store.replay(rec), opts);
  store.resetHistory();
  store.wal = await Wal.open(dir, loaded, snapshotOf(store), { compactAfter: opts.compactAfter, onCompactChunk: opts.onCompactChunk });
  return { store, loaded };
}

function load(dir: string, opts: LoadOptions = {}) {
  const store = new Store();
  const loaded = loadDataDir(dir, (rec) => store.replay(rec), opts);
  return { store, loaded };
}

/** name -> data.i of every ConfigMap. */
const state = (store: Store) => Object.fromEntries([...store.res('/configmaps').objects].map(([k, o]) => [k, o.data.i]));
const cm = (name: string, i: number | string, pad = 200): Obj => ({ metadata: { name, namespace: 'd' }, data: { i: String(i), pad: 'x'.repeat(pad) } });

describe('data directory', () => {
  it('round-trips puts and deletes, and keeps resourceVersions increasing', async () => {
    const dir = tmp();
    const { store } = await openStore(dir);
    for (let i = 0; i < 12; i++) store.put('/configmaps', cm(`c${i % 4}`, i));
    store.remove('/configmaps', 'd/c3');
    await store.durable();
    await store.wal!.close();
    const { store: again, loaded } = load(dir);
    expect(loaded.rv).toBe(13);
    expect(state(again)).toEqual({ 'd/c0': '8', 'd/c1': '9', 'd/c2': '10' });
  });

  it('compacts beside live writes: every acknowledged write survives, old generations go away', async () => {
    const dir = tmp();
    let during = 0;
    const { store } = await openStore(dir, {
      onCompactChunk: () => {
        // Writes while the snapshot is being written land in the next generation's log.
        store.put('/configmaps', cm(`during${during}`, during));
        during++;
      },
    });
    for (let i = 0; i < 1500; i++) store.put('/configmaps', cm(`c${i}`, i, 2000));
    await store.durable();
    await store.wal!.compactNow();
    await store.durable();
    expect(during).toBeGreaterThan(0);
    const expected = state(store);
    await store.wal!.close();
    expect(readdirSync(dir).filter((f) => /^(snap|log)\./.test(f)).sort()).toEqual(['log.1', 'snap.1']);
    expect(state(load(dir).store)).toEqual(expected);
  });

  it('a crash at any point of a compaction loses nothing acknowledged (disk copies taken mid-compaction)', async () => {
    const dir = tmp();
    const copies: { dir: string; acked: Record<string, string> }[] = [];
    /** What a client has been told is stored (its write's durable() resolved). */
    let acked: Record<string, string> = {};
    let n = 0;
    const { store } = await openStore(dir, {
      onCompactChunk: () => {
        // What the disk holds now is what a SIGKILL here would leave; everything acknowledged so far must be in it.
        const copy = tmp();
        cpSync(dir, copy, { recursive: true });
        copies.push({ dir: copy, acked: { ...acked } });
        const name = `late${n}`;
        const value = String(n++);
        store.put('/configmaps', cm(name, value));
        // A late write still in flight when the log closes is refused, never acknowledged: not in acked.
        void store.durable().then(
          () => (acked[`d/${name}`] = value),
          () => undefined,
        );
      },
    });
    for (let i = 0; i < 1500; i++) store.put('/configmaps', cm(`c${i}`, i, 2000));
    await store.durable();
    acked = state(store);
    await store.wal!.compactNow();
    await store.wal!.close();
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) {
      expect(readdirSync(c.dir).some((f) => f.endsWith('.tmp'))).toBe(true);
      const got = state(load(c.dir).store);
      for (const [k, v] of Object.entries(c.acked)) expect(got[k]).toBe(v);
    }
  });

  it('refuses to start on a damaged record in the middle, naming file, offset and what it found; --recover truncates and reports', async () => {
    const dir = tmp();
    const { store } = await openStore(dir);
    for (let i = 0; i < 200; i++) store.put('/configmaps', cm(`c${i}`, i));
    await store.durable();
    await store.wal!.close();
    const path = join(dir, 'log.0');
    const bytes = readFileSync(path);
    // Flip one byte inside record 100 (line 101: the header is line 0).
    let line = 0;
    let at = 0;
    for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x0a && ++line === 101) { at = i + 40; break; }
    const offset = bytes.lastIndexOf(0x0a, at) + 1;
    bytes[at] = bytes[at] === 0x41 ? 0x42 : 0x41;
    writeFileSync(path, bytes);
    expect(() => load(dir)).toThrow(DataDirError);
    expect(() => load(dir)).toThrow(`log.0 is damaged at byte offset ${offset}: checksum mismatch`);
    expect(() => load(dir)).toThrow(/--recover/);
    const { store: recovered, loaded } = load(dir, { recover: true });
    expect(Object.keys(state(recovered))).toHaveLength(100);
    expect(loaded.dropped.join('\n')).toMatch(/log\.0: truncated at offset \d+ \(checksum mismatch.*\); 99 later record\(s\) dropped/);
    expect(statSync(path).size).toBe(offset);
    // The truncated directory now starts normally.
    expect(Object.keys(state(load(dir).store))).toHaveLength(100);
  });

  it('drops a torn final record with a log line (a write interrupted by a crash)', async () => {
    const dir = tmp();
    const { store } = await openStore(dir);
    for (let i = 0; i < 5; i++) store.put('/configmaps', cm(`c${i}`, i));
    await store.durable();
    await store.wal!.close();
    appendFileSync(join(dir, 'log.0'), '0123456789abcdef {"op":"put","res":"/configm');
    const warned: string[] = [];
    const log = { warn: (_o: unknown, msg: string) => warned.push(msg), info: () => undefined, error: () => undefined } as unknown as LoadOptions['log'];
    const { store: again } = await openStore(dir, { log });
    expect(Object.keys(state(again))).toHaveLength(5);
    expect(warned.join()).toMatch(/torn final record/);
    // Appends continue after the truncated tail.
    again.put('/configmaps', cm('after', 1));
    await again.durable();
    await again.wal!.close();
    expect(state(load(dir).store)['d/after']).toBe('1');
  });

  it('refuses a damaged snapshot and a deleted log, naming the file', async () => {
    const dir = tmp();
    const { store } = await openStore(dir);
    for (let i = 0; i < 50; i++) store.put('/configmaps', cm(`c${i}`, i));
    await store.wal!.compactNow();
    await store.wal!.close();
    const snap = join(dir, 'snap.1');
    const good = readFileSync(snap);
    writeFileSync(snap, good.subarray(0, good.length - 30)); // lost its end marker
    expect(() => load(dir)).toThrow(/snap\.1 is damaged at byte offset \d+/);
    writeFileSync(snap, good);
    unlinkSync(join(dir, 'log.1'));
    expect(() => load(dir)).toThrow(/log\.1 is missing/);
    const used = tmp();
    writeFileSync(join(used, 'token'), 't\n');
    expect(() => load(used)).toThrow(/refusing to start empty/);
  });

  it('converts the old unchecksummed format once, and refuses it when a middle line is damaged', () => {
    const dir = tmp();
    const obj = (name: string, rv: number) => ({ metadata: { name, resourceVersion: String(rv) } });
    writeFileSync(join(dir, 'snapshot.jsonl'), `${JSON.stringify({ rv: 5 })}\n${JSON.stringify({ res: '/configmaps', obj: obj('a', 5) })}\n`);
    writeFileSync(join(dir, 'wal.jsonl'), [
      JSON.stringify({ op: 'put', res: '/configmaps', rv: 4, obj: obj('old', 4) }),
      JSON.stringify({ op: 'put', res: '/configmaps', rv: 6, obj: obj('b', 6) }),
      JSON.stringify({ op: 'del', res: '/configmaps', rv: 7, key: 'a' }),
      '{"op":"put","res":"/configm',
    ].join('\n'));
    const { store, loaded } = load(dir);
    expect(loaded.rv).toBe(7);
    expect([...store.res('/configmaps').objects.keys()]).toEqual(['b']);
    expect(existsSync(join(dir, 'wal.jsonl'))).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(['log.1', 'snap.1']);
    const bad = tmp();
    writeFileSync(join(bad, 'wal.jsonl'), `${JSON.stringify({ op: 'put', res: '/x', rv: 1, obj: obj('a', 1) })}\n{oops\n${JSON.stringify({ op: 'put', res: '/x', rv: 2, obj: obj('b', 2) })}\n`);
    expect(() => load(bad)).toThrow(/old-format wal\.jsonl is damaged at byte offset \d+/);
  });

  it('keeps the directory 0700 and its files 0600', async () => {
    const dir = tmp();
    const { store } = await openStore(dir);
    store.put('/configmaps', cm('a', 1));
    await store.wal!.compactNow();
    await store.wal!.close();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(dir)) expect({ f, mode: statSync(join(dir, f)).mode & 0o777 }).toEqual({ f, mode: 0o600 });
  });

  it('sends watch events only once the write is durable, in order', async () => {
    const dir = tmp();
    const { store } = await openStore(dir);
    const seen: number[] = [];
    store.res('/configmaps').addWatcher({ deliver: (_t, ev) => seen.push(ev.rv) });
    const a = store.put('/configmaps', cm('a', 1));
    const b = store.put('/configmaps', cm('b', 2));
    expect(seen).toEqual([]); // not yet on disk
    await store.durable();
    expect(seen).toEqual([Number(a.metadata.resourceVersion), Number(b.metadata.resourceVersion)]);
    await store.wal!.close();
  });
});

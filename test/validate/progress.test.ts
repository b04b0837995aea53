// The progress line: nothing off a terminal or in the first 2 s; then one rewritten line, erased at the end.
import { describe, expect, it } from 'vitest';
import { progressLine } from '../../src/util/progress';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { stream: { isTTY, write: (s: string) => writes.push(s) }, writes };
}

describe('progressLine', () => {
  it('stays silent when stderr is not a terminal, however long it takes', () => {
    const { stream, writes } = fakeStream(false);
    let t = 0;
    const p = progressLine('vmsafe validate', { stream, now: () => t });
    t = 60_000;
    p.update(() => 'read 1/2 files');
    p.done();
    expect(writes).toEqual([]);
  });

  it('shows nothing before 2 s, then a throttled line, and erases it when done', () => {
    const { stream, writes } = fakeStream(true);
    let t = 0;
    const p = progressLine('vmsafe validate', { stream, now: () => t });
    t = 1999;
    p.update(() => 'early');
    expect(writes).toEqual([]);
    t = 2500;
    p.update(() => 'read 3/10 files');
    t = 2550;
    p.update(() => 'too soon');
    t = 3100;
    p.update(() => 'read 9/10 files');
    p.done();
    expect(writes).toEqual(['\r\x1b[2Kvmsafe validate: read 3/10 files (3 s)', '\r\x1b[2Kvmsafe validate: read 9/10 files (3 s)', '\r\x1b[2K']);
  });

  it('erases nothing when it never showed', () => {
    const { stream, writes } = fakeStream(true);
    const p = progressLine('x', { stream, now: () => 0 });
    p.done();
    expect(writes).toEqual([]);
  });
});

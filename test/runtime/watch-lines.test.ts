// The watch's line splitting and event parsing, without a server: any split of a stream of event
// lines into chunks gives the same events, in order, as JSON.parse of each line (less the drops).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lineSplitter, parseEventLine } from '../../src/runtime/watch';

const events = fc.array(
  fc.record({ type: fc.constantFrom('ADDED', 'MODIFIED', 'DELETED'), object: fc.record({ metadata: fc.record({ name: fc.string(), managedFields: fc.array(fc.string(), { maxLength: 2 }) }), spec: fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }) }) }),
  { maxLength: 8 },
);

function chunked(bytes: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of [...at, bytes.length]) {
    out.push(bytes.subarray(from, c));
    from = c;
  }
  return out;
}

describe('lineSplitter + parseEventLine', () => {
  it('gives every event once, in order, however the bytes are chunked (blank lines skipped)', () => {
    fc.assert(
      fc.property(events, fc.array(fc.nat(), { maxLength: 12 }), fc.boolean(), (evs, cuts, blanks) => {
        const text = evs.map((e) => JSON.stringify(e) + '\n' + (blanks ? ' \r\n' : '')).join('');
        const got: unknown[] = [];
        const push = lineSplitter((line) => got.push(parseEventLine(line, { metadata: ['managedFields'] })));
        for (const c of chunked(Buffer.from(text), cuts)) push(c);
        const want = evs.map((e) => ({ type: e.type, object: { ...e.object, metadata: { name: e.object.metadata.name } } }));
        expect(got).toEqual(want);
      }),
      { numRuns: 500 },
    );
  });

  it('holds back a line until its newline arrives', () => {
    const got: string[] = [];
    const push = lineSplitter((l) => got.push(l.toString()));
    push(Buffer.from('{"a":'));
    push(Buffer.from('1}'));
    expect(got).toEqual([]);
    push(Buffer.from('\n{"b"'));
    expect(got).toEqual(['{"a":1}']);
  });

  it('parses whole what the scanner does not follow, and throws on a line that is not JSON', () => {
    expect(parseEventLine(Buffer.from('{"type":"ERROR","object":null}'), { metadata: ['managedFields'] })).toEqual({ type: 'ERROR', object: null });
    expect(() => parseEventLine(Buffer.from('{"type":"ADDED","obj'), undefined)).toThrow();
  });
});

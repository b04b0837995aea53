import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { classBenchHeaders, classBenchPort, classBenchSpec, parseClassBench, seededRandom } from '../helpers/classbench';
import { buildClassifier } from '../../src/dataplane/classifier';
import { buildLinearClassifier } from '../helpers/linear';

// The small public rule sets, in the repository (source and licence: test/fixtures/classbench/README.md).
const DATA = fileURLToPath(new URL('../fixtures/classbench/', import.meta.url));

describe('ClassBench rule sets', () => {
  it('parses a rule line and maps protocols and port ranges', () => {
    const rules = parseClassBench(
      '@176.19.181.33/32\t90.145.23.162/32\t0 : 65535\t1550 : 1550\t0x06/0xFF\t0x0000/0x0200\t\n' +
        '@10.0.0.0/8\t0.0.0.0/0\t0 : 65535\t1024 : 65535\t0x11/0xFF\t\n' +
        '@0.0.0.0/0\t0.0.0.0/0\t0 : 65535\t0 : 65535\t0x00/0x00\t\n' +
        '@1.2.3.0/24\t0.0.0.0/0\t0 : 65535\t80 : 80\t0x01/0xFF\t\n',
    );
    expect(rules).toEqual([
      { src: '176.19.181.33/32', dportLo: 1550, dportHi: 1550, proto: 6 },
      { src: '10.0.0.0/8', dportLo: 1024, dportHi: 65535, proto: 17 },
      { src: '0.0.0.0/0', dportLo: 0, dportHi: 65535, proto: null },
      { src: '1.2.3.0/24', dportLo: 80, dportHi: 80, proto: 1 },
    ]);
    expect(rules.map(classBenchPort)).toEqual([
      { protocol: 'TCP', port: 1550 },
      { protocol: 'UDP', port: 1024, endPort: 65535 },
      { protocol: 'Any' },
      { protocol: 'ICMP' },
    ]);
    expect(() => parseClassBench('garbage')).toThrow(/line 1/);
  });

  for (const file of ['acl1_1k', 'fw1_1k', 'ipc1_1k']) {
    it(`${file}: fast classifier agrees with the linear scan on 3,000 headers`, () => {
      const rules = parseClassBench(readFileSync(DATA + file, 'utf8'));
      expect(rules.length).toBeGreaterThan(800);
      const spec = classBenchSpec(rules, file);
      const fast = buildClassifier(spec, { chunkSize: 256 }); // several chunks, to exercise chunk hand-over
      const whole = buildClassifier(spec, { top16MinIntervals: 16 }); // one chunk, with the /16 address index
      const linear = buildLinearClassifier(spec);
      let matched = 0;
      for (const h of classBenchHeaders(rules, 3000, seededRandom(7))) {
        const d = linear.classify(h);
        if (d.rule !== 'no-match') matched++;
        expect(fast.classify(h)).toEqual(d);
        expect(whole.classify(h)).toEqual(d);
      }
      expect(matched).toBeGreaterThan(1500);
    });
  }
});

// The V8 flags every vmsafe process starts with: bin/vmsafe, the container image's ENTRYPOINT and
// the bench's child processes pass them to node (test/cli/node-flags.test.ts keeps all three in step).
// They must be on node's command line: V8 sizes its young generation when the process starts, and
// setting the flag later (v8.setFlagsFromString) changes nothing.
//
// --max-semi-space-size=32 (MiB; V8's default is 16): listing and decoding 200,000 objects, or writing
// 160 KB HostFilters, allocates faster than a 16 MiB nursery turns over, so V8 scavenged every few
// milliseconds and copied the survivors each time. With 32 the vmworld bench used 17-30 % less CPU in
// the operator (143 s instead of 174-216 s) and the API server, an operator restart was Ready in 12 s
// instead of 16-18 s, and peak RSS stayed within the runs' spread (the nursery is 32 MiB more).
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32'];

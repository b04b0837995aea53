// Connection tracking: a bounded flow table of allowed connections. A packet of a known flow (either
// direction) passes without classification; entries expire after an idle timeout (injected clock) and
// the least recently used entry is evicted when the table is full.
import type { Decision, Direction, PacketProtocol } from '../policy/decision';
import { LruMap } from '../util/lru-map';

/**
 * One packet as seen at a vNIC. `direction` is egress (leaving the VM) or ingress (arriving at it);
 * `localPort` is the VM side's port, `remotePort` the other end's (0 for ICMP). The port the filter
 * classifies is the destination port: remotePort for egress, localPort for ingress. `localIp` and
 * `localMac` are the VM side's addresses as the packet carries them (on egress: the source, which
 * the spoof guard checks against the vNIC's binding).
 */
export interface Packet {
  vm: string;
  vnic: string;
  direction: Direction;
  localIp: string;
  localMac: string;
  remoteIp: string;
  protocol: PacketProtocol;
  localPort: number;
  remotePort: number;
}

export interface FlowEntry {
  /** Direction of the packet that opened the flow. */
  direction: Direction;
  /** The decision that allowed it. */
  decision: Decision;
  /** Filter generation the decision was made under (stale entries are re-checked). */
  generation: number;
  lastSeen: number;
}

export interface ConntrackCounters {
  lookups: number;
  hits: number;
  misses: number;
  inserts: number;
  evictions: number;
  expirations: number;
}

export interface ConntrackOptions {
  /** Most flows kept (default 65,536). */
  maxFlows?: number;
  /** A flow with no packet for this long is forgotten (default 120 s). */
  idleMs?: number;
  /** Milliseconds; injected for tests. */
  now?: () => number;
}

/** The flow key is the same for both directions of one connection at one vNIC. */
export const flowKey = (p: Packet): string => `${p.vm}\u0000${p.vnic}\u0000${p.remoteIp}\u0000${p.protocol}\u0000${p.localPort}\u0000${p.remotePort}`;

export class Conntrack {
  readonly counters: ConntrackCounters = { lookups: 0, hits: 0, misses: 0, inserts: 0, evictions: 0, expirations: 0 };
  readonly maxFlows: number;
  readonly idleMs: number;
  private readonly now: () => number;
  // Least recently used first: a hit moves its flow to the newest end, eviction and expiry take the oldest.
  private readonly flows = new LruMap<string, FlowEntry>();

  constructor(opts: ConntrackOptions = {}) {
    this.maxFlows = opts.maxFlows ?? 65536;
    this.idleMs = opts.idleMs ?? 120_000;
    this.now = opts.now ?? Date.now;
    if (this.maxFlows < 1) throw new Error('maxFlows must be at least 1');
  }

  get size(): number {
    return this.flows.size;
  }

  /** The live entry for this packet's flow (refreshed as most recently used), or undefined. */
  lookup(key: string): FlowEntry | undefined {
    this.counters.lookups++;
    const e = this.flows.get(key);
    if (!e) {
      this.counters.misses++;
      return undefined;
    }
    const now = this.now();
    if (now - e.lastSeen > this.idleMs) {
      this.flows.delete(key);
      this.counters.expirations++;
      this.counters.misses++;
      return undefined;
    }
    e.lastSeen = now;
    this.flows.touch(key);
    this.counters.hits++;
    return e;
  }

  insert(key: string, direction: Direction, decision: Decision, generation: number): void {
    this.flows.delete(key);
    while (this.flows.size >= this.maxFlows) {
      this.flows.deleteOldest();
      this.counters.evictions++;
    }
    this.flows.set(key, { direction, decision, generation, lastSeen: this.now() });
    this.counters.inserts++;
  }

  delete(key: string): void {
    this.flows.delete(key);
  }

  /** Drop idle entries; cheap because the oldest entries come first. Returns how many were dropped. */
  expire(): number {
    const now = this.now();
    let n = 0;
    for (let o = this.flows.oldest(); o && now - o.value.lastSeen > this.idleMs; o = this.flows.oldest()) {
      this.flows.deleteOldest();
      n++;
    }
    this.counters.expirations += n;
    return n;
  }

  clear(): void {
    this.flows.clear();
  }
}

// One host's data path: the compiled classifier plus connection tracking, replaceable as a whole when
// the HostFilter changes. This is what the agent holds.
import type { HostFilterSpec } from '../api';
import type { Decision, Verdict } from '../policy/decision';
import { type ClassifierOptions, type FastClassifier, buildClassifier } from './classifier';
import { Conntrack, type ConntrackOptions, type Packet, flowKey } from './conntrack';
import { type BoundAddress, SPOOFGUARD, boundAddresses, isSpoofed } from './spoofguard';
import { bindingKey } from './semantics';
import type { Lookup } from './types';

export type { Packet } from './conntrack';

export interface PacketResult {
  verdict: Verdict;
  /** The rule decision (for a tracked flow: the decision that allowed its first packet). */
  decision: Decision;
  /** "classifier": looked up now; "established": same direction as the flow's first packet; "reply": the other direction. */
  via: 'classifier' | 'established' | 'reply';
}

export interface DataplaneCounters {
  packets: number;
  allowed: number;
  denied: number;
  classified: number;
  /** Egress packets dropped by the spoof guard (also counted in denied). */
  spoofed: number;
}

export interface DataplaneOptions extends ClassifierOptions {
  conntrack?: ConntrackOptions;
}

/** The lookup a packet needs: the destination port is the remote one on egress, the local one on ingress. */
export const packetLookup = (p: Packet): Lookup => ({
  vm: p.vm,
  vnic: p.vnic,
  direction: p.direction,
  remoteIp: p.remoteIp,
  protocol: p.protocol,
  port: p.direction === 'egress' ? p.remotePort : p.localPort,
});

export class Dataplane {
  readonly conntrack: Conntrack;
  readonly counters: DataplaneCounters = { packets: 0, allowed: 0, denied: 0, classified: 0, spoofed: 0 };
  private classifier: FastClassifier;
  private bound: Map<string, BoundAddress>;
  private generation = 0;
  private hash: string;

  constructor(
    spec: HostFilterSpec,
    private readonly opts: DataplaneOptions = {},
  ) {
    this.classifier = buildClassifier(spec, opts);
    this.bound = boundAddresses(spec);
    this.hash = spec.hash;
    this.conntrack = new Conntrack(opts.conntrack);
  }

  /** Hash of the applied HostFilter spec. */
  get appliedHash(): string {
    return this.hash;
  }

  get stats() {
    return this.classifier.stats;
  }

  /**
   * Swap in a new filter. Tracked flows stay, but each is re-classified on its next packet under the
   * new filter and dropped if that no longer allows it: a policy change also cuts existing connections.
   */
  replace(spec: HostFilterSpec): void {
    this.classifier = buildClassifier(spec, this.opts);
    this.bound = boundAddresses(spec);
    this.hash = spec.hash;
    this.generation++;
  }

  /** Stateless verdict for one lookup (what `vmsafe trace` and tests use); a claimed source is guarded. */
  classify(l: Lookup): Decision {
    if (l.direction === 'egress') {
      const b = this.bound.get(bindingKey(l.vm, l.vnic));
      if (b && isSpoofed(b, l)) return SPOOFGUARD;
    }
    return this.classifier.classify(l);
  }

  /** Stateful: a packet of a tracked flow passes; otherwise it is classified and, if allowed, tracked. */
  process(p: Packet): PacketResult {
    this.counters.packets++;
    // Spoof guard first: a spoofed packet neither opens a flow nor rides an established one (the
    // flow key has no source address, so a forged packet could otherwise match a tracked flow).
    if (p.direction === 'egress') {
      const b = this.bound.get(bindingKey(p.vm, p.vnic));
      if (b && isSpoofed(b, p)) {
        this.counters.spoofed++;
        return this.deny(SPOOFGUARD);
      }
    }
    const key = flowKey(p);
    const flow = this.conntrack.lookup(key);
    if (flow) {
      const original = flow.direction === p.direction ? p : { ...p, direction: flow.direction };
      const still = flow.generation === this.generation ? flow.decision : this.recheck(original);
      if (still.verdict === 'Allow') {
        flow.decision = still;
        flow.generation = this.generation;
        this.counters.allowed++;
        return { verdict: 'Allow', decision: still, via: flow.direction === p.direction ? 'established' : 'reply' };
      }
      this.conntrack.delete(key);
      return this.deny(still);
    }
    const d = this.classifier.classify(packetLookup(p));
    this.counters.classified++;
    if (d.verdict !== 'Allow') return this.deny(d);
    // One conntrack zone per vNIC: a flood from one vNIC evicts its own flows, not its neighbours'.
    this.conntrack.insert(key, p.direction, d, this.generation, bindingKey(p.vm, p.vnic));
    this.counters.allowed++;
    return { verdict: 'Allow', decision: d, via: 'classifier' };
  }

  private recheck(original: Packet): Decision {
    this.counters.classified++;
    return this.classifier.classify(packetLookup(original));
  }

  private deny(d: Decision): PacketResult {
    this.counters.denied++;
    return { verdict: 'Deny', decision: d, via: 'classifier' };
  }
}

// The classifier's contract: built from one HostFilter spec, answers per-vNIC, per-direction lookups.
import type { HostFilterSpec } from '../api';
import type { Decision, Direction, PacketProtocol } from '../policy/decision';

export interface Lookup {
  /** "namespace/name" of the local VM and its vNIC name, as in HostFilter bindings. */
  vm: string;
  vnic: string;
  direction: Direction;
  /** The other end's IPv4 address (dotted string). */
  remoteIp: string;
  protocol: PacketProtocol;
  /** Destination port for TCP/UDP/SCTP; ignored for ICMP. */
  port: number;
  /**
   * Egress only: the source IP / MAC the packet carries, checked against the vNIC's binding by the
   * spoof guard (spoofguard.ts). Absent = a rule query (what would the rules say), nothing to check.
   */
  localIp?: string;
  localMac?: string;
}

export interface Classifier {
  /** Decide one lookup; a vNIC without binding is denied (tier Default, rule "unbound"). */
  classify(l: Lookup): Decision;
}

export type BuildClassifier = (spec: HostFilterSpec) => Classifier;

/** A single address → the indexes of the host's groups that contain it (interned arrays). */
export interface Memberships {
  get(ip: number): Int32Array | undefined;
}

/**
 * Members of shared address groups (AddressGroup objects), kept current by whoever watches them.
 * The sets are live: a classifier holds them and sees membership changes without a rebuild, like
 * iptables rules naming an ipset.
 */
export interface SharedGroups {
  /** The live member set of a shared group (empty, but the same object later filled, if unknown). */
  membersOf(id: string): ReadonlySet<number>;
}

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
}

export interface Classifier {
  /** Decide one lookup; a vNIC without binding is denied (tier Default, rule "unbound"). */
  classify(l: Lookup): Decision;
}

export type BuildClassifier = (spec: HostFilterSpec) => Classifier;

// What every controller of the operator shares: the client, the caches, the compiler and the writers.
import type { KubeClient } from '../runtime/client';
import type { Clock } from '../runtime/clock';
import type { EventRecorder } from '../runtime/events';
import type { RuntimeMetrics } from '../runtime/metrics';
import type { StatusWriter } from '../runtime/status';
import type { Logger } from '../util/log';
import type { CompileFeed } from './compile-feed';
import type { PlacementLedger } from './ledger';
import type { World } from './world';

export interface OperatorContext {
  client: KubeClient;
  world: World;
  feed: CompileFeed;
  ledger: PlacementLedger;
  status: StatusWriter;
  events: EventRecorder;
  clock: Clock;
  log: Logger;
  metrics?: RuntimeMetrics;
  /** Counters tests and benchmarks read (e.g. HostFilter writes per host). */
  counters: OperatorCounters;
  /** AddressGroup shard name → hash last written by this term (the cache may lag our own writes). */
  writtenShards: Map<string, string>;
}

export interface OperatorCounters {
  hostFilterWrites: number;
  hostFilterWritesByHost: Map<string, number>;
  addressGroupWrites: number;
  largestObjectBytes: number;
}

export const newCounters = (): OperatorCounters => ({ hostFilterWrites: 0, hostFilterWritesByHost: new Map(), addressGroupWrites: 0, largestObjectBytes: 0 });

/**
 * Workers of the status reporting controllers (SecurityPolicy, Tenant). Their reconciles mostly wait
 * for a status write: at vmworld, 16 workers kept both the operator and the API server under 80 % busy
 * while 120,000 statuses went out one round trip after another.
 */
export const REPORTING_WORKERS = 32;

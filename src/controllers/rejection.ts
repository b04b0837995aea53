// Last known good, reported: when the newest generation of an object fails our schema, the caches keep
// serving the last valid one (src/runtime/informer.ts) and every status write of that object goes
// through here, which (1) targets the newest object, so observedGeneration and the diff base are the
// server's, (2) adds `Valid=False reason=InvalidSpec` naming the rejected generation, the field, and the
// generation still enforced, and (3) writes one Warning Event per rejected generation. The controllers'
// own conditions keep describing the generation they computed them from (their observedGeneration).
import type { FieldError } from '../api/decode';
import type { KubeObject } from '../runtime/client';
import { keyOf } from '../runtime/client';
import { getCondition, setConditions } from '../runtime/conditions';
import type { EventRecorder } from '../runtime/events';
import type { InvalidEntry } from '../runtime/store';
import type { ReconcileContext } from '../runtime/controller';
import type { OperatorContext } from './context';
import type { World } from './world';

/** One line naming the fields: `spec.ingress[0].peers[0]: exactly one of ...; spec.x: ...`. */
export const fieldErrors = (errors: readonly FieldError[]): string =>
  errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('; ');

/** The Valid condition for an object whose newest generation was rejected. */
export function rejectionMessage(invalid: InvalidEntry, enforced: number | undefined): string {
  const gen = invalid.raw.metadata?.generation;
  const kept = enforced === undefined ? 'nothing of it is enforced' : `generation ${enforced} stays enforced`;
  return `generation ${gen ?? '?'} rejected: ${fieldErrors(invalid.errors)}; ${kept}`;
}

export interface StatusTarget {
  current: KubeObject;
  desired: object;
}

/**
 * Decide what a status write of `current` (the cached, possibly last-known-good object) becomes.
 * Pure: `invalid` is the rejected newest generation, if any. Returns whether a Warning is due.
 */
export function decideRejection(current: KubeObject, desired: { conditions?: unknown }, invalid: InvalidEntry | undefined, now: Date): StatusTarget & { warn?: string } {
  const conds = (desired.conditions ?? (current.status as { conditions?: unknown } | undefined)?.conditions) as Parameters<typeof setConditions>[0];
  if (!invalid) {
    // Valid again: say so, once the object had been reported invalid.
    const prev = getCondition((current.status as { conditions?: Parameters<typeof setConditions>[0] } | undefined)?.conditions, 'Valid');
    if (!prev || prev.status === 'True') return { current, desired };
    const gen = current.metadata.generation;
    return {
      current,
      desired: { ...desired, conditions: setConditions(conds, [{ type: 'Valid', status: 'True', reason: 'Valid', message: `generation ${gen} is valid and in use`, observedGeneration: gen }], now) },
    };
  }
  const newest = invalid.raw as unknown as KubeObject;
  const gen = newest.metadata.generation;
  const lastGood = current === newest ? undefined : current.metadata.generation;
  const message = rejectionMessage(invalid, lastGood);
  const prev = getCondition((newest.status as { conditions?: Parameters<typeof setConditions>[0] } | undefined)?.conditions, 'Valid');
  const warn = prev?.status === 'False' && prev.observedGeneration === gen ? undefined : message;
  return {
    current: newest,
    desired: { ...desired, conditions: setConditions(conds, [{ type: 'Valid', status: 'False', reason: 'InvalidSpec', message, observedGeneration: gen }], now) },
    warn,
  };
}

const INFORMER_BY_KIND = (world: World) =>
  ({ Tenant: world.tenants, Tag: world.tags, Host: world.hosts, VM: world.vms, SecurityPolicy: world.policies }) as const;

/** The StatusWriter hook: every status write of a kind the operator decodes passes through decideRejection. */
export function rejectionOverlay(world: World, events: EventRecorder, now: () => Date) {
  const informers = INFORMER_BY_KIND(world) as Record<string, { getInvalid(key: string): InvalidEntry | undefined } | undefined>;
  return (kind: string, current: KubeObject, desired: object): StatusTarget => {
    const inf = informers[kind];
    if (!inf) return { current, desired };
    const d = decideRejection(current, desired as { conditions?: unknown }, inf.getInvalid(keyOf(current)), now());
    if (d.warn) events.event(d.current, 'Warning', 'InvalidSpec', d.warn);
    return { current: d.current, desired: d.desired };
  };
}

/**
 * A new object our schema rejects that was never valid (no last known good): it is not compiled; say
 * why in its status (the overlay adds Valid=False and the Warning), do nothing else.
 */
export async function reportInvalid(
  ctx: OperatorContext,
  invalid: { raw: any; errors: { path: string; message: string }[] },
  rc: ReconcileContext,
): Promise<void> {
  const message = fieldErrors(invalid.errors);
  rc.log.warn({ errors: invalid.errors }, 'invalid object');
  const kind = invalid.raw.kind as string;
  const condType = kind === 'VM' ? 'Scheduled' : kind === 'SecurityPolicy' ? 'Accepted' : 'Ready';
  await ctx.status.update(kind, invalid.raw, {
    ...(kind === 'VM' ? { phase: 'Pending' } : {}),
    conditions: setConditions(invalid.raw.status?.conditions, [
      { type: condType, status: 'False', reason: 'InvalidSpec', message, observedGeneration: invalid.raw.metadata?.generation },
    ], rc.now()),
  });
}


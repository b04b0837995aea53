// metav1.Condition helpers: lastTransitionTime moves only when a condition's status flips.
import type { Condition } from '../api/common';

export type ConditionStatus = Condition['status'];

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message?: string;
  observedGeneration?: number;
}

/** The last second formatted (a cold start flips thousands of conditions within the same second). */
let lastSecond = NaN;
let lastText = '';

export function timestamp(now: Date | string | number): string {
  if (typeof now === 'string') return now;
  // Seconds precision like metav1.Time: a status built twice within a second compares equal.
  const second = Math.floor((typeof now === 'number' ? now : now.getTime()) / 1000);
  if (second !== lastSecond) {
    lastText = new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    lastSecond = second;
  }
  return lastText;
}

/**
 * A new condition list with `input` set. Order is kept (new types are appended); an existing
 * condition keeps its lastTransitionTime unless its status changes. Pure: `list` is not modified.
 */
export function setCondition(
  list: readonly Condition[] | undefined,
  input: ConditionInput,
  now: Date | string | number,
): Condition[] {
  const out = [...(list ?? [])];
  const i = out.findIndex((c) => c.type === input.type);
  const prev = i >= 0 ? out[i] : undefined;
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: input.message ?? '',
    ...(input.observedGeneration !== undefined ? { observedGeneration: input.observedGeneration } : {}),
    lastTransitionTime: prev && prev.status === input.status ? prev.lastTransitionTime : timestamp(now),
  };
  if (i >= 0) out[i] = next;
  else out.push(next);
  return out;
}

/** Set several conditions in one go (same rules as setCondition). */
export function setConditions(
  list: readonly Condition[] | undefined,
  inputs: readonly ConditionInput[],
  now: Date | string | number,
): Condition[] {
  let out = [...(list ?? [])];
  for (const c of inputs) out = setCondition(out, c, now);
  return out;
}

export function removeCondition(list: readonly Condition[] | undefined, type: string): Condition[] {
  return (list ?? []).filter((c) => c.type !== type);
}

export function getCondition(list: readonly Condition[] | undefined, type: string): Condition | undefined {
  return (list ?? []).find((c) => c.type === type);
}

export function isConditionTrue(list: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(list, type)?.status === 'True';
}

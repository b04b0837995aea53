// Fault injection for the simulated hypervisor agent. Tests and operators set these on the Host
// annotation `sim.vmsafe.io/faults` (JSON), or with `vmsafe agent` flags.
import { z } from 'zod';

export const FAULTS_ANNOTATION = 'sim.vmsafe.io/faults';

export const agentFaults = z.object({
  /** Probability (0–1) that one apply fails. */
  applyFailureRate: z.number().min(0).max(1).default(0),
  /** Extra time an apply takes, in ms. */
  applyDelayMs: z.number().int().min(0).max(600_000).default(0),
  /** Silently corrupt the programmed state (once per change of this value); the agent must detect it. */
  drift: z.number().int().min(0).default(0),
  /** Crash (stop abruptly, state lost); the fleet restarts the agent after `restartDelayMs`. Bump to crash again. */
  crash: z.number().int().min(0).default(0),
  restartDelayMs: z.number().int().min(0).max(600_000).default(1000),
  /** Agent stopped: no heartbeat, no watch, nothing applied, until cleared. */
  stopped: z.boolean().default(false),
})
  // Strict: a misspelt key (`stoped`) is an error to report, not a fault silently not injected.
  .strict();
export type AgentFaults = z.infer<typeof agentFaults>;
export const NO_FAULTS: AgentFaults = agentFaults.parse({});

/** Parse the annotation; a bad value means no faults (and a reason the caller logs). */
export function parseFaults(text: string | undefined): { faults: AgentFaults; error?: string } {
  if (!text) return { faults: NO_FAULTS };
  try {
    const r = agentFaults.safeParse(JSON.parse(text));
    if (r.success) return { faults: r.data };
    return {
      faults: NO_FAULTS,
      error: r.error.issues
        .map((i) => (i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : `${i.path.join('.')}: ${i.message}`))
        .join('; '),
    };
  } catch (e) {
    return { faults: NO_FAULTS, error: `not JSON: ${(e as Error).message}` };
  }
}

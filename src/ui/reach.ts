// The seam for "which tenants it can reach, and which can reach it": filled from the reachability
// analyzer (src/analyze) when it is part of the build; until then the tenant view says so.
import type { FleetModel } from './model';
import type { Reach } from './page/types';

export type ReachFn = (model: FleetModel, tenant: string) => Reach;

export const noAnalyzer: ReachFn = () => ({ available: false, why: 'analyzer not available' });

// Tag-matched placement (DESIGN.md "Placement"): pure functions, no I/O.
export * from './types';
export * from './needs';
export * from './feasibility';
export * from './schedule';
export * from './decide';

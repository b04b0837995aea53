export * from './common';
export * from './kinds';
export * from './registry';
export * from './decode';
export * from './limits';

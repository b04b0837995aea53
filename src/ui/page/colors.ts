// Host state colors: distinct in hue and lightness, each with a text label in the legend and tooltip.
import type { HostState } from './types';

export const STATE_COLOR: Record<HostState, string> = {
  Healthy: '#2e9e5b',
  Converging: '#3b82c4',
  NotReady: '#e5484d',
  ApplyFailed: '#f08c00',
  Drift: '#b46ee8',
  TooLarge: '#e8d44d',
};

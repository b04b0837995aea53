// `npm run build:ui`: bundle the dashboard page into dist/ui/app.js (run by the package build).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { BUILT, bundle } from './bundle';

mkdirSync(dirname(BUILT), { recursive: true });
const text = await bundle({ outfile: BUILT });
process.stderr.write(`dist/ui/app.js: ${(text.length / 1024).toFixed(1)} KiB\n`);

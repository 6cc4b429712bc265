// Writes programs/coordinator/src/bloom_sizing.h (witness Bloom sizes per client count) from
// @psyche/verify's bloomParameters. Rebuild the program afterwards (npm run build:program).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bloomSizingHeaderSource } from '../src/bloom-sizing-internal.ts';
import { COORDINATOR_PROGRAM_SOURCE_DIR } from '../src/program-build.ts';

const out = join(COORDINATOR_PROGRAM_SOURCE_DIR, 'bloom_sizing.h');
writeFileSync(out, bloomSizingHeaderSource());
console.log(`wrote ${out}`);

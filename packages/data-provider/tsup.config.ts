import { defineConfig } from 'tsup';
import { psychePackage } from '../../tsup.preset.ts';

// The CLI is a second build entry for the `psyche-data` bin; the library's only entry stays src/index.ts.
export default defineConfig(psychePackage({ entry: { index: 'src/index.ts', cli: 'src/cli.ts' } }));

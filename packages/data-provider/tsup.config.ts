import { defineConfig } from 'tsup';
import { psychePackage } from '../../tsup.preset.ts';

// The CLI is a second build entry for the `psyche-data` bin; the library's only entry stays src/index.ts.
// shims: the example dataset locates its data packages with import.meta.url, which the CJS build needs shimmed.
export default defineConfig(psychePackage({ entry: { index: 'src/index.ts', cli: 'src/cli.ts' }, shims: true }));

import { psycheProject } from '../../vitest.shared.ts';

export default psycheProject('@psyche/sbf-linker', { testTimeout: 120_000 });

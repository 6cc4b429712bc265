import { psycheProject } from '../../vitest.shared.ts';

export default psycheProject('@psyche/coordinator-client', { testTimeout: 120_000 });

import { psycheProject } from '../../vitest.shared.ts';

export default psycheProject('@psyche/p2p', { testTimeout: 60_000 });

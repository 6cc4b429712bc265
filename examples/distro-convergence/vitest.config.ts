import { psycheProject } from '../../vitest.shared.ts';

export default psycheProject('@psyche/example-distro-convergence');

import { psycheProject } from '../../vitest.shared.ts';

export default psycheProject('@psyche/reference-node');

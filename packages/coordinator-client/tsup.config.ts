import { defineConfig } from 'tsup';
import { psychePackage } from '../../tsup.preset.ts';

export default defineConfig(psychePackage());

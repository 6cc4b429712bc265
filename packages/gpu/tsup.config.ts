import { defineConfig } from 'tsup';
import { psychePackage } from '../../tsup.preset.ts';

// shims: the CommonJS build needs import.meta.url (addon and onnxruntime-node paths are resolved from it).
export default defineConfig(psychePackage({ shims: true }));

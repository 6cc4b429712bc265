// Builds the DisTrO kernel addon. Never fails the install: on any error it prints one line and
// exits 0, and @psyche/gpu falls back to the TypeScript kernels at runtime.
// Order: node-gyp (binding.gyp; needs Node headers: the `nodedir` npm config or a download), then a
// direct g++/clang++ build against the registry's node-api-headers, which works offline.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const out = join(root, 'build', 'Release', 'psyche_distro_kernels.node');
const quiet = process.argv.includes('--quiet');
const log = (m) => quiet || console.log(m);

function tryNodeGyp() {
  const candidates = [process.env.npm_config_node_gyp, join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'), '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'].filter(Boolean);
  const gyp = candidates.find((c) => existsSync(c));
  if (!gyp) throw new Error('node-gyp not found');
  const nodedir = process.env.npm_config_nodedir ? [`--nodedir=${process.env.npm_config_nodedir}`] : [];
  execFileSync(process.execPath, [gyp, 'rebuild', ...nodedir], { cwd: root, stdio: quiet ? 'ignore' : 'inherit' });
}

function tryDirect() {
  const cxx = process.env.CXX ?? 'g++';
  const napi = dirname(require.resolve('node-api-headers/package.json'));
  const addon = dirname(require.resolve('node-addon-api/package.json'));
  mkdirSync(dirname(out), { recursive: true });
  const args = ['-std=c++17', '-O3', '-march=native', '-fPIC', '-shared', '-pthread', '-fexceptions', '-DNAPI_VERSION=8', '-DNODE_ADDON_API_DISABLE_DEPRECATED', `-I${join(napi, 'include')}`, `-I${addon}`, join(root, 'native', 'distro_kernels.cc'), '-o', out];
  if (process.platform === 'darwin') args.push('-undefined', 'dynamic_lookup');
  execFileSync(cxx, args, { cwd: root, stdio: quiet ? 'ignore' : 'inherit' });
}

try {
  try {
    if (process.env.PSYCHE_NATIVE_DIRECT) throw new Error('skipped');
    tryNodeGyp();
  } catch (e) {
    log(`node-gyp build failed (${e.message.split('\n')[0]}); trying a direct compiler build`);
    tryDirect();
  }
  log(`built ${out}`);
} catch (e) {
  console.warn(`@psyche/gpu: native DisTrO kernels not built (${e.message.split('\n')[0]}); the TypeScript kernels will be used`);
}

// Builds the CUDA DisTrO kernels where nvcc exists: build-cuda/psyche_distro_cuda.node (the Node
// addon behind `cudaKernels()`), build-cuda/libpsyche_distro_cuda.so (C API) and
// build-cuda/distro_cuda_check (checks against a CPU reference and times 4096×4096).
// Without nvcc it says so and exits 0.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'native', 'cuda', 'distro_kernels.cu');
const out = join(root, 'build-cuda'); // not build/: node-gyp rebuild wipes that
try {
  execFileSync('nvcc', ['--version'], { stdio: 'ignore' });
} catch {
  console.log('@psyche/gpu: nvcc not found; CUDA kernels not built (CPU kernels are unaffected)');
  process.exit(0);
}
mkdirSync(out, { recursive: true });
const arch = process.env.CUDA_ARCH ? [`-arch=${process.env.CUDA_ARCH}`] : [];
execFileSync('nvcc', ['-O3', ...arch, '-shared', '-Xcompiler', '-fPIC', src, '-o', join(out, 'libpsyche_distro_cuda.so')], { stdio: 'inherit' });
execFileSync('nvcc', ['-O3', ...arch, '-DPSYCHE_CUDA_CHECK', src, '-o', join(out, 'distro_cuda_check')], { stdio: 'inherit' });
// The addon links the CUDA runtime statically (nvcc's default), so it loads on machines without a
// driver and reports 0 devices there.
const require = createRequire(join(root, 'package.json'));
const napi = join(dirname(require.resolve('node-api-headers/package.json')), 'include');
const addonApi = dirname(require.resolve('node-addon-api/package.json'));
execFileSync(
  'nvcc',
  ['-O3', ...arch, '-std=c++17', '-shared', '-Xcompiler', '-fPIC,-fexceptions', '-DNAPI_VERSION=8', '-DNODE_ADDON_API_DISABLE_DEPRECATED', `-I${napi}`, `-I${addonApi}`, src, join(root, 'native', 'cuda', 'distro_cuda_addon.cc'), '-o', join(out, 'psyche_distro_cuda.node')],
  { stdio: 'inherit' },
);
console.log(`built ${out}/psyche_distro_cuda.node, libpsyche_distro_cuda.so and distro_cuda_check (run it to check and time the kernels on a GPU)`);

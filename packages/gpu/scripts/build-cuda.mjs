// Builds the CUDA DisTrO kernels where nvcc exists: build/Release/libpsyche_distro_cuda.so (C API)
// and build/Release/distro_cuda_check (checks against a CPU reference and times 4096×4096).
// Without nvcc it says so and exits 0.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'native', 'cuda', 'distro_kernels.cu');
const out = join(root, 'build', 'Release');
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
console.log(`built ${out}/libpsyche_distro_cuda.so and ${out}/distro_cuda_check (run it to check and time the kernels)`);

// CUDA versions of the DisTrO kernels (@psyche/distro DistroKernels semantics), with a C API and,
// under -DPSYCHE_CUDA_CHECK, a main() that checks every kernel against a CPU reference on seeded data
// and times the 4096×4096 / chunk 64 / top-32 case. Built only where nvcc exists
// (`npm run build:cuda -w @psyche/gpu`). UNCHECKED ON A GPU so far: see packages/gpu/BENCHMARKS.md.
//
// Layout (packages/distro/src/chunk-layout.ts): input row-major [rows, cols]; chunk c = ty·colChunks + tx
// covers rows ty·R.., cols tx·C..; coefficients chunk-major, (u, v) at c·R·C + u·C + v.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

constexpr int kMaxChunk = 64;  // tiles up to 64×64 fit in shared memory (2 × 16 KiB)

// Orthonormal DCT-II basis D[k][i] of size n, row-major, float, in device memory.
__global__ void BasisKernel(float* d, int n) {
  int k = blockIdx.x, i = threadIdx.x;
  if (k < n && i < n) {
    double s = k == 0 ? sqrt(1.0 / n) : sqrt(2.0 / n);
    d[k * n + i] = float(s * cos(M_PI * (2.0 * i + 1.0) * k / (2.0 * n)));
  }
}

// One block per tile; threads (C, R) with C·R ≤ 1024 would not fit 64×64, so each thread handles a
// column v and loops over rows. encode: Y = D_r · X · D_cᵀ; decode: X = D_rᵀ · Y · D_c.
template <bool kInverse>
__global__ void TileDctKernel(const float* __restrict in, float* __restrict out, const float* __restrict dr, const float* __restrict dc, int cols, int R, int C, int colChunks) {
  __shared__ float tile[kMaxChunk * kMaxChunk];
  __shared__ float half[kMaxChunk * kMaxChunk];
  const int c = blockIdx.x;
  const int ty = c / colChunks, tx = c % colChunks;
  const size_t base = size_t(c) * R * C;
  for (int e = threadIdx.x; e < R * C; e += blockDim.x) {
    int i = e / C, j = e % C;
    tile[e] = kInverse ? in[base + e] : in[size_t(ty * R + i) * cols + tx * C + j];
  }
  __syncthreads();
  // half = tile · D_cᵀ (encode) or tile · D_c (decode)
  for (int e = threadIdx.x; e < R * C; e += blockDim.x) {
    int i = e / C, v = e % C;
    float acc = 0.f;
    for (int j = 0; j < C; j++) acc += tile[i * C + j] * (kInverse ? dc[j * C + v] : dc[v * C + j]);
    half[e] = acc;
  }
  __syncthreads();
  // out = D_r · half (encode) or D_rᵀ · half (decode)
  for (int e = threadIdx.x; e < R * C; e += blockDim.x) {
    int u = e / C, v = e % C;
    float acc = 0.f;
    for (int i = 0; i < R; i++) acc += (kInverse ? dr[i * R + u] : dr[u * R + i]) * half[i * C + v];
    if (kInverse) out[size_t(ty * R + u) * cols + tx * C + v] = acc;
    else out[base + e] = acc;
  }
}

// Top-k per chunk, one block per chunk, by k rounds of a block-wide arg-max under the tie rule
// (larger magnitude, then lower index; NaN = −1). Winners are marked, then written ascending by index.
__device__ inline bool Better(float ma, int ia, float mb, int ib) { return ma > mb || (ma == mb && ia < ib); }

__global__ void TopkKernel(const float* __restrict coeffs, int elems, int k, uint32_t* __restrict indices, float* __restrict values) {
  extern __shared__ unsigned char shared[];
  float* mag = reinterpret_cast<float*>(shared);                 // [elems]
  unsigned char* taken = shared + sizeof(float) * elems;          // [elems]
  __shared__ float red_m[1024];
  __shared__ int red_i[1024];
  const float* x = coeffs + size_t(blockIdx.x) * elems;
  for (int e = threadIdx.x; e < elems; e += blockDim.x) {
    float v = x[e];
    mag[e] = v == v ? fabsf(v) : -1.f;
    taken[e] = 0;
  }
  __syncthreads();
  for (int round = 0; round < k; round++) {
    float bm = -2.f;
    int bi = 0x7fffffff;
    for (int e = threadIdx.x; e < elems; e += blockDim.x)
      if (!taken[e] && Better(mag[e], e, bm, bi)) { bm = mag[e]; bi = e; }
    red_m[threadIdx.x] = bm;
    red_i[threadIdx.x] = bi;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
      if (threadIdx.x < s && Better(red_m[threadIdx.x + s], red_i[threadIdx.x + s], red_m[threadIdx.x], red_i[threadIdx.x])) {
        red_m[threadIdx.x] = red_m[threadIdx.x + s];
        red_i[threadIdx.x] = red_i[threadIdx.x + s];
      }
      __syncthreads();
    }
    if (threadIdx.x == 0) taken[red_i[0]] = 1;
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    int j = 0;
    for (int e = 0; e < elems && j < k; e++)
      if (taken[e]) {
        indices[size_t(blockIdx.x) * k + j] = e;
        values[size_t(blockIdx.x) * k + j] = x[e];
        j++;
      }
  }
}

// Scatter-mean, one block per chunk: float64 sums and counts in shared memory (as the reference).
__global__ void ScatterMeanKernel(const uint32_t* const* indices, const float* const* values, const int* ks, int selections, int elems, float* __restrict out) {
  extern __shared__ unsigned char shared[];
  double* sums = reinterpret_cast<double*>(shared);
  unsigned* counts = reinterpret_cast<unsigned*>(sums + elems);
  for (int e = threadIdx.x; e < elems; e += blockDim.x) {
    sums[e] = 0.0;
    counts[e] = 0;
  }
  __syncthreads();
  for (int s = 0; s < selections; s++) {
    const int k = ks[s];
    for (int j = threadIdx.x; j < k; j += blockDim.x) {
      uint32_t p = indices[s][size_t(blockIdx.x) * k + j];
      // atomics: a hostile selection may repeat an index within a chunk (the reference counts it twice)
      atomicAdd(&sums[p], double(values[s][size_t(blockIdx.x) * k + j]));
      atomicAdd(&counts[p], 1u);
    }
    __syncthreads();
  }
  for (int e = threadIdx.x; e < elems; e += blockDim.x) out[size_t(blockIdx.x) * elems + e] = counts[e] ? float(sums[e] / counts[e]) : 0.f;
}

__global__ void DecayAccumulateKernel(float* delta, const float* grad, size_t n, double decay, double lr) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) delta[i] = float(decay * double(delta[i]) + lr * double(grad[i]));
}

__global__ void SignDescentKernel(float* w, const float* d, size_t n, double lr) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    float v = d[i];
    if (v > 0) w[i] = float(double(w[i]) - lr);
    else if (v < 0) w[i] = float(double(w[i]) + lr);
  }
}

}  // namespace

// ------------------------------------------------------------------ C API (device pointers)
extern "C" {

int psyche_cuda_encode(const float* in, float* out, int rows, int cols, int R, int C, int inverse) {
  if (R > kMaxChunk || C > kMaxChunk || rows % R || cols % C) return -1;
  float *dr, *dc;
  cudaMalloc(&dr, sizeof(float) * R * R);
  cudaMalloc(&dc, sizeof(float) * C * C);
  BasisKernel<<<R, R>>>(dr, R);
  BasisKernel<<<C, C>>>(dc, C);
  const int chunks = (rows / R) * (cols / C);
  if (inverse) TileDctKernel<true><<<chunks, 256>>>(in, out, dr, dc, cols, R, C, cols / C);
  else TileDctKernel<false><<<chunks, 256>>>(in, out, dr, dc, cols, R, C, cols / C);
  cudaFree(dr);
  cudaFree(dc);
  return cudaGetLastError() == cudaSuccess ? 0 : -2;
}

int psyche_cuda_topk(const float* coeffs, int chunks, int elems, int k, uint32_t* indices, float* values) {
  if (k < 1 || k > elems) return -1;
  TopkKernel<<<chunks, 256, elems * (sizeof(float) + 1)>>>(coeffs, elems, k, indices, values);
  return cudaGetLastError() == cudaSuccess ? 0 : -2;
}

int psyche_cuda_scatter_mean(const uint32_t* const* indices, const float* const* values, const int* ks, int selections, int chunks, int elems, float* out) {
  ScatterMeanKernel<<<chunks, 256, elems * (sizeof(double) + sizeof(unsigned))>>>(indices, values, ks, selections, elems, out);
  return cudaGetLastError() == cudaSuccess ? 0 : -2;
}

int psyche_cuda_decay_accumulate(float* delta, const float* grad, size_t n, double decay, double lr) {
  DecayAccumulateKernel<<<1024, 256>>>(delta, grad, n, decay, lr);
  return cudaGetLastError() == cudaSuccess ? 0 : -2;
}

int psyche_cuda_sign_descent(float* w, const float* d, size_t n, double lr) {
  SignDescentKernel<<<1024, 256>>>(w, d, n, lr);
  return cudaGetLastError() == cudaSuccess ? 0 : -2;
}

}  // extern "C"

// ------------------------------------------------------------------ C API on host buffers
// Each call copies its inputs to the device, runs, synchronizes and copies the outputs back (what
// the Node addon uses: @psyche/distro's DistroKernels works on host Float32Arrays). 0 = success;
// on failure, psyche_cuda_error() describes the last error of this thread.
namespace {
thread_local char g_error[256] = "";

int Fail(const char* what, cudaError_t e) {
  snprintf(g_error, sizeof g_error, "%s: %s", what, cudaGetErrorString(e));
  return -3;
}

// Device buffers freed on every return path.
struct DeviceBuffers {
  std::vector<void*> ptrs;
  ~DeviceBuffers() {
    for (void* p : ptrs) cudaFree(p);
  }
  template <typename T>
  cudaError_t Alloc(T** out, size_t count) {
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, count * sizeof(T) + 1);
    if (e == cudaSuccess) ptrs.push_back(p);
    *out = static_cast<T*>(p);
    return e;
  }
};

#define PSYCHE_CUDA_TRY(what, expr)                 \
  do {                                              \
    cudaError_t e_ = (expr);                        \
    if (e_ != cudaSuccess) return Fail(what, e_);   \
  } while (0)

// Elementwise ops on host buffers: `second` is read-only, `first` is updated in place.
int HostElementwise(float* first, const float* second, size_t n, int (*run)(float*, const float*, size_t, double, double), double a, double b2) {
  DeviceBuffers b;
  float *d1, *d2;
  PSYCHE_CUDA_TRY("cudaMalloc", b.Alloc(&d1, n));
  PSYCHE_CUDA_TRY("cudaMalloc", b.Alloc(&d2, n));
  PSYCHE_CUDA_TRY("copy to device", cudaMemcpy(d1, first, n * sizeof(float), cudaMemcpyHostToDevice));
  PSYCHE_CUDA_TRY("copy to device", cudaMemcpy(d2, second, n * sizeof(float), cudaMemcpyHostToDevice));
  run(d1, d2, n, a, b2);
  PSYCHE_CUDA_TRY("elementwise kernel", cudaDeviceSynchronize());
  PSYCHE_CUDA_TRY("copy to host", cudaMemcpy(first, d1, n * sizeof(float), cudaMemcpyDeviceToHost));
  return 0;
}

}  // namespace

extern "C" {

const char* psyche_cuda_error() { return g_error; }

// Number of visible CUDA devices (0 when there is no driver or no GPU); the name of device 0.
int psyche_cuda_device_count() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
}

int psyche_cuda_device_name(char* out, int capacity) {
  cudaDeviceProp prop;
  PSYCHE_CUDA_TRY("cudaGetDeviceProperties", cudaGetDeviceProperties(&prop, 0));
  snprintf(out, size_t(capacity), "%s", prop.name);
  return 0;
}

int psyche_cuda_host_dct(const float* in, float* out, int rows, int cols, int R, int C, int inverse) {
  const size_t n = size_t(rows) * cols;
  DeviceBuffers b;
  float *din, *dout;
  PSYCHE_CUDA_TRY("cudaMalloc", b.Alloc(&din, n));
  PSYCHE_CUDA_TRY("cudaMalloc", b.Alloc(&dout, n));
  PSYCHE_CUDA_TRY("copy to device", cudaMemcpy(din, in, n * sizeof(float), cudaMemcpyHostToDevice));
  if (psyche_cuda_encode(din, dout, rows, cols, R, C, inverse) == -1) {
    snprintf(g_error, sizeof g_error, "chunk %dx%d unsupported (at most %dx%d, dividing %dx%d)", R, C, kMaxChunk, kMaxChunk, rows, cols);
    return -1;
  }
  PSYCHE_CUDA_TRY("dct kernel", cudaDeviceSynchronize());
  PSYCHE_CUDA_TRY("copy to host", cudaMemcpy(out, dout, n * sizeof(float), cudaMemcpyDeviceToHost));
  return 0;
}

int psyche_cuda_host_topk(const float* coeffs, int chunks, int elems, int k, uint32_t* indices, float* values) {
  const size_t n = size_t(chunks) * elems, m = size_t(chunks) * k;
  DeviceBuffers b;
  float *dc, *dv;
  uint32_t* di;
  PSYCHE_CUDA_TRY("cudaMalloc", b.Alloc(&dc, n));
  PSYCHE_CUDA_TRY("cudaMalloc", b.Alloc(&di, m));
  PSYCHE_CUDA_TRY("cudaMalloc", b.Alloc(&dv, m));
  PSYCHE_CUDA_TRY("copy to device", cudaMemcpy(dc, coeffs, n * sizeof(float), cudaMemcpyHostToDevice));
  if (psyche_cuda_topk(dc, chunks, elems, k, di, dv) == -1) {
    snprintf(g_error, sizeof g_error, "k = %d out of range for chunks of %d", k, elems);
    return -1;
  }
  PSYCHE_CUDA_TRY("topk kernel", cudaDeviceSynchronize());
  PSYCHE_CUDA_TRY("copy to host", cudaMemcpy(indices, di, m * sizeof(uint32_t), cudaMemcpyDeviceToHost));
  PSYCHE_CUDA_TRY("copy to host", cudaMemcpy(values, dv, m * sizeof(float), cudaMemcpyDeviceToHost));
  return 0;
}

int psyche_cuda_host_scatter_mean(const uint32_t* const* indices, const float* const* values, const int* ks, int selections, int chunks, int elems, float* out) {
  DeviceBuffers b;
  std::vector<const uint32_t*> di(static_cast<size_t>(selections));
  std::vector<const float*> dv(static_cast<size_t>(selections));
  for (int s = 0; s < selections; s++) {
    const size_t m = size_t(chunks) * ks[s];
    uint32_t* pi;
    float* pv;
    PSYCHE_CUDA_TRY("cudaMalloc", b.Alloc(&pi, m));
    PSYCHE_CUDA_TRY("cudaMalloc", b.Alloc(&pv, m));
    PSYCHE_CUDA_TRY("copy to device", cudaMemcpy(pi, indices[s], m * sizeof(uint32_t), cudaMemcpyHostToDevice));
    PSYCHE_CUDA_TRY("copy to device", cudaMemcpy(pv, values[s], m * sizeof(float), cudaMemcpyHostToDevice));
    di[size_t(s)] = pi;
    dv[size_t(s)] = pv;
  }
  const uint32_t** ddi;
  const float** ddv;
  int* dks;
  float* dout;
  const size_t n = size_t(chunks) * elems;
  PSYCHE_CUDA_TRY("cudaMalloc", b.Alloc(&ddi, size_t(selections)));
  PSYCHE_CUDA_TRY("cudaMalloc", b.Alloc(&ddv, size_t(selections)));
  PSYCHE_CUDA_TRY("cudaMalloc", b.Alloc(&dks, size_t(selections)));
  PSYCHE_CUDA_TRY("cudaMalloc", b.Alloc(&dout, n));
  PSYCHE_CUDA_TRY("copy to device", cudaMemcpy(ddi, di.data(), di.size() * sizeof(void*), cudaMemcpyHostToDevice));
  PSYCHE_CUDA_TRY("copy to device", cudaMemcpy(ddv, dv.data(), dv.size() * sizeof(void*), cudaMemcpyHostToDevice));
  PSYCHE_CUDA_TRY("copy to device", cudaMemcpy(dks, ks, size_t(selections) * sizeof(int), cudaMemcpyHostToDevice));
  psyche_cuda_scatter_mean(ddi, ddv, dks, selections, chunks, elems, dout);
  PSYCHE_CUDA_TRY("scatter-mean kernel", cudaDeviceSynchronize());
  PSYCHE_CUDA_TRY("copy to host", cudaMemcpy(out, dout, n * sizeof(float), cudaMemcpyDeviceToHost));
  return 0;
}

int psyche_cuda_host_decay_accumulate(float* delta, const float* grad, size_t n, double decay, double lr) {
  return HostElementwise(delta, grad, n, psyche_cuda_decay_accumulate, decay, lr);
}

int psyche_cuda_host_sign_descent(float* w, const float* d, size_t n, double lr) {
  return HostElementwise(w, d, n, [](float* a, const float* c, size_t m, double x, double) { return psyche_cuda_sign_descent(a, c, m, x); }, lr, 0);
}

}  // extern "C"

#ifdef PSYCHE_CUDA_CHECK
// ------------------------------------------------------------------ check against a CPU reference, then time
#include <algorithm>
#include <chrono>
#include <numeric>

static void CpuEncode(const std::vector<float>& x, std::vector<float>& y, int rows, int cols, int R, int C, bool inverse) {
  auto basis = [](int n) {
    std::vector<double> d(size_t(n) * n);
    for (int k = 0; k < n; k++)
      for (int i = 0; i < n; i++) d[size_t(k) * n + i] = (k == 0 ? std::sqrt(1.0 / n) : std::sqrt(2.0 / n)) * std::cos(M_PI * (2.0 * i + 1.0) * k / (2.0 * n));
    return d;
  };
  auto dr = basis(R), dc = basis(C);
  int cc = cols / C;
  for (int c = 0; c < (rows / R) * cc; c++) {
    int ty = c / cc, tx = c % cc;
    std::vector<double> t(size_t(R) * C), h(size_t(R) * C);
    for (int i = 0; i < R; i++)
      for (int j = 0; j < C; j++) t[size_t(i) * C + j] = inverse ? x[size_t(c) * R * C + i * C + j] : x[size_t(ty * R + i) * cols + tx * C + j];
    for (int i = 0; i < R; i++)
      for (int v = 0; v < C; v++) {
        double a = 0;
        for (int j = 0; j < C; j++) a += t[size_t(i) * C + j] * (inverse ? dc[size_t(j) * C + v] : dc[size_t(v) * C + j]);
        h[size_t(i) * C + v] = a;
      }
    for (int u = 0; u < R; u++)
      for (int v = 0; v < C; v++) {
        double a = 0;
        for (int i = 0; i < R; i++) a += (inverse ? dr[size_t(i) * R + u] : dr[size_t(u) * R + i]) * h[size_t(i) * C + v];
        if (inverse) y[size_t(ty * R + u) * cols + tx * C + v] = float(a);
        else y[size_t(c) * R * C + u * C + v] = float(a);
      }
  }
}

int main() {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    printf("no CUDA device: nothing checked\n");
    return 2;
  }
  const int rows = 4096, cols = 4096, R = 64, C = 64, k = 32, elems = R * C, chunks = (rows / R) * (cols / C);
  const size_t n = size_t(rows) * cols;
  std::vector<float> x(n);
  uint64_t s = 1;
  for (auto& v : x) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    v = float(int64_t(s >> 33) % 20001 - 10000) / 10000.f;
  }
  float *dx, *dy, *dz, *dval;
  uint32_t* didx;
  cudaMalloc(&dx, n * 4);
  cudaMalloc(&dy, n * 4);
  cudaMalloc(&dz, n * 4);
  cudaMalloc(&didx, size_t(chunks) * k * 4);
  cudaMalloc(&dval, size_t(chunks) * k * 4);
  cudaMemcpy(dx, x.data(), n * 4, cudaMemcpyHostToDevice);
  psyche_cuda_encode(dx, dy, rows, cols, R, C, 0);
  std::vector<float> y(n), ref(n);
  cudaMemcpy(y.data(), dy, n * 4, cudaMemcpyDeviceToHost);
  // check the first 64 tile rows only (the CPU reference is slow)
  std::vector<float> xs(x.begin(), x.begin() + size_t(R) * cols), ys(size_t(R) * cols);
  CpuEncode(xs, ys, R, cols, R, C, false);
  double maxd = 0, scale = 1;
  for (size_t i = 0; i < ys.size(); i++) maxd = std::max(maxd, double(std::fabs(ys[i] - y[i]))), scale = std::max(scale, double(std::fabs(ys[i])));
  printf("encode max diff %.3e (relative to max |ref| %.3e)\n", maxd / scale, scale);
  psyche_cuda_topk(dy, chunks, elems, k, didx, dval);
  std::vector<uint32_t> idx(size_t(chunks) * k);
  cudaMemcpy(idx.data(), didx, idx.size() * 4, cudaMemcpyDeviceToHost);
  size_t mismatches = 0;
  for (int c = 0; c < chunks; c++) {
    std::vector<int> order(elems);
    std::iota(order.begin(), order.end(), 0);
    auto mag = [&](int i) { float v = y[size_t(c) * elems + i]; return v == v ? std::fabs(v) : -1.f; };
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return mag(a) > mag(b); });
    std::sort(order.begin(), order.begin() + k);
    for (int j = 0; j < k; j++) mismatches += uint32_t(order[j]) != idx[size_t(c) * k + j];
  }
  printf("topk index mismatches %zu of %d\n", mismatches, chunks * k);
  // timings
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  cudaEventRecord(a);
  for (int r = 0; r < 10; r++) {
    psyche_cuda_encode(dx, dy, rows, cols, R, C, 0);
    psyche_cuda_topk(dy, chunks, elems, k, didx, dval);
  }
  cudaEventRecord(b);
  cudaEventSynchronize(b);
  float ms;
  cudaEventElapsedTime(&ms, a, b);
  printf("compress (encode + topk) 4096x4096: %.3f ms\n", ms / 10);
  cudaEventRecord(a);
  for (int r = 0; r < 10; r++) psyche_cuda_encode(dy, dz, rows, cols, R, C, 1);
  cudaEventRecord(b);
  cudaEventSynchronize(b);
  cudaEventElapsedTime(&ms, a, b);
  printf("decode 4096x4096: %.3f ms\n", ms / 10);
  std::vector<float> z(n);
  cudaMemcpy(z.data(), dz, n * 4, cudaMemcpyDeviceToHost);
  double rt = 0;
  for (size_t i = 0; i < n; i++) rt = std::max(rt, double(std::fabs(z[i] - x[i])));
  printf("round trip max error %.3e\n", rt);
  return (maxd / scale < 1e-5 && mismatches == 0 && rt < 1e-4) ? 0 : 1;
}
#endif

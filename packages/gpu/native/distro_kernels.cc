// DisTrO kernels for @psyche/distro's DistroKernels interface, as a Node-API addon.
// Every entry point validates its arguments on the JS thread, then runs on a libuv worker thread
// (Napi::AsyncWorker) that fans the work out over a persistent thread pool, and resolves a Promise:
// the event loop never waits on the math. Semantics (chunk layout, tie rule, float64 sums) follow
// packages/distro/src/{dct-reference,topk,scatter-mean,elementwise}.ts, the readable references.
#ifndef PSYCHE_KERNELS_NO_NAPI  // defined by the standalone C++ micro-benchmark
#include "napi_promise.h"
#endif

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 flags the undefined pass-through operand inside its own AVX-512 intrinsics (a false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace {

// ------------------------------------------------------------------ persistent thread pool
// Threads are started once and sleep on a condition variable between jobs (a per-call spawn made
// small tensors slower, measured). The submitting thread works too, so a job of n items uses
// (pool size + 1) threads.
class ThreadPool {
 public:
  explicit ThreadPool(unsigned workers) {
    for (unsigned i = 0; i < workers; i++) threads_.emplace_back([this] { Loop(); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  unsigned Size() const { return static_cast<unsigned>(threads_.size()) + 1; }

  // Runs fn(begin, end) over [0, n) in blocks of `grain`, dynamically balanced. One job at a time.
  void ParallelFor(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn) {
    if (n == 0) return;
    if (threads_.empty() || n <= grain) {
      fn(0, n);
      return;
    }
    std::lock_guard<std::mutex> job_lock(job_mu_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      fn_ = &fn;
      n_ = n;
      grain_ = grain;
      next_.store(0);
      active_ = static_cast<unsigned>(threads_.size());
      generation_++;
    }
    cv_.notify_all();
    Work(fn, n, grain);
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [this] { return active_ == 0; });
    fn_ = nullptr;
  }

 private:
  void Work(const std::function<void(size_t, size_t)>& fn, size_t n, size_t grain) {
    for (;;) {
      size_t begin = next_.fetch_add(grain);
      if (begin >= n) return;
      fn(begin, std::min(n, begin + grain));
    }
  }
  void Loop() {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(size_t, size_t)>* fn;
      size_t n, grain;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        fn = fn_;
        n = n_;
        grain = grain_;
      }
      Work(*fn, n, grain);
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (--active_ == 0) done_cv_.notify_one();
      }
    }
  }
  std::vector<std::thread> threads_;
  std::mutex mu_, job_mu_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(size_t, size_t)>* fn_ = nullptr;
  size_t n_ = 0, grain_ = 1;
  std::atomic<size_t> next_{0};
  unsigned active_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

// PSYCHE_KERNEL_THREADS overrides the thread count (all hardware threads by default).
unsigned PoolThreads() {
  const char* env = std::getenv("PSYCHE_KERNEL_THREADS");
  const long n = env ? std::strtol(env, nullptr, 10) : 0;
  return n >= 1 && n <= 1024 ? unsigned(n) : std::max(1u, std::thread::hardware_concurrency());
}

ThreadPool& Pool() {
  static ThreadPool pool(PoolThreads() - 1);
  return pool;
}

struct Layout {
  int64_t rows, cols, chunk_rows, chunk_cols;
  int64_t RowChunks() const { return rows / chunk_rows; }
  int64_t ColChunks() const { return cols / chunk_cols; }
  int64_t NumChunks() const { return RowChunks() * ColChunks(); }
  int64_t ChunkElems() const { return chunk_rows * chunk_cols; }
};

// out[m][n] (=|+=) a[m][k] · b[k][n]; a is dense (row stride k), rows of b and out have strides ldb
// and ldo. The i-k-j order: the innermost loop is a broadcast-FMA over a contiguous row.
// `accumulate` false overwrites out (no zeroing pass needed).
#if defined(__AVX512F__)
// n = 64 (the DeMo/Psyche chunk): 6 output rows × 64 floats = 24 zmm accumulators held in registers
// for the whole k loop (4 rows: 89 GFLOP/s, 6 rows: 113 GFLOP/s on one core, measured on 64³).
template <int kRows>
inline void MatMulBlock64(const float* __restrict a, int k, const float* __restrict b, size_t ldb, float* __restrict out, size_t ldo, bool accumulate) {
  __m512 acc[kRows][4];
  for (int r = 0; r < kRows; r++)
    for (int q = 0; q < 4; q++) acc[r][q] = accumulate ? _mm512_loadu_ps(out + r * ldo + 16 * q) : _mm512_setzero_ps();
  for (int p = 0; p < k; p++) {
    const float* br = b + p * ldb;
    const __m512 b0 = _mm512_loadu_ps(br), b1 = _mm512_loadu_ps(br + 16), b2 = _mm512_loadu_ps(br + 32), b3 = _mm512_loadu_ps(br + 48);
#pragma GCC unroll 6
    for (int r = 0; r < kRows; r++) {
      const __m512 av = _mm512_set1_ps(a[size_t(r) * k + p]);
      acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
      acc[r][2] = _mm512_fmadd_ps(av, b2, acc[r][2]);
      acc[r][3] = _mm512_fmadd_ps(av, b3, acc[r][3]);
    }
  }
  for (int r = 0; r < kRows; r++)
    for (int q = 0; q < 4; q++) _mm512_storeu_ps(out + r * ldo + 16 * q, acc[r][q]);
}

inline void MatMul64(const float* a, const float* b, size_t ldb, float* out, size_t ldo, int m, int k, bool accumulate) {
  int i = 0;
  for (; i + 6 <= m; i += 6) MatMulBlock64<6>(a + size_t(i) * k, k, b, ldb, out + i * ldo, ldo, accumulate);
  for (; i + 2 <= m; i += 2) MatMulBlock64<2>(a + size_t(i) * k, k, b, ldb, out + i * ldo, ldo, accumulate);
  for (; i < m; i++) MatMulBlock64<1>(a + size_t(i) * k, k, b, ldb, out + i * ldo, ldo, accumulate);
}
#endif

inline void MatMul(const float* __restrict a, const float* __restrict b, size_t ldb, float* __restrict out, size_t ldo, int m, int k, int n, bool accumulate) {
#if defined(__AVX512F__)
  if (n == 64) return MatMul64(a, b, ldb, out, ldo, m, k, accumulate);
#endif
  for (int i = 0; i < m; i++) {
    float* o = out + i * ldo;
    if (!accumulate) std::fill(o, o + n, 0.f);
    for (int p = 0; p < k; p++) {
      const float av = a[size_t(i) * k + p];
      const float* __restrict br = b + p * ldb;
#pragma GCC ivdep
      for (int j = 0; j < n; j++) o[j] += av * br[j];
    }
  }
}

// ------------------------------------------------------------------ fast DCT on row vectors
// A DCT along the row index of an n × len block, where every "element" is a row of len floats, so
// each step is a SIMD operation on whole rows. Even/odd split (the first stage of Lee's / Chen's
// algorithms): with s_i = x_i + x_{n-1-i}, d_i = x_i − x_{n-1-i} (i < n/2),
//   y_{2m}   = Σ_i s_i cos(π(2i+1)m / n)          — a DCT-II of size n/2, recursively;
//   y_{2m+1} = Σ_i d_i cos(π(2i+1)(2m+1) / 2n)    — a dense (n/2)² product.
// For n = 64 this is 32²+16²+8²+4²+2²+1+1 ≈ 1.4k row multiply-adds instead of 4k (3× fewer).
// Odd sizes and n ≤ 2 use the dense core matrix. The orthonormal scale s_k is applied separately.
struct DctPlan {
  int n = 0;
  std::vector<float> core, core_t;  // dense n × n core C[k][i] = cos(π(2i+1)k / 2n) and its transpose (leaf only)
  std::vector<float> odd, odd_t;    // (n/2) × (n/2) O[m][i] = cos(π(2i+1)(2m+1) / 2n) and transpose
  std::vector<float> scale;         // orthonormal s_k
  std::vector<float> basis, basis_t;  // orthonormal D [k][i] = s_k C[k][i] and Dᵀ, for products along rows
  std::unique_ptr<DctPlan> half;    // plan of size n/2 (even part)
  bool Leaf() const { return !half; }
};

std::unique_ptr<DctPlan> MakePlan(int n) {
  auto p = std::make_unique<DctPlan>();
  p->n = n;
  p->scale.resize(n);
  p->basis.resize(size_t(n) * n);
  p->basis_t.resize(size_t(n) * n);
  for (int k = 0; k < n; k++) {
    const double sk = k == 0 ? std::sqrt(1.0 / n) : std::sqrt(2.0 / n);
    p->scale[k] = float(sk);
    for (int i = 0; i < n; i++) {
      const float v = float(sk * std::cos(M_PI * (2.0 * i + 1.0) * k / (2.0 * n)));
      p->basis[size_t(k) * n + i] = v;
      p->basis_t[size_t(i) * n + k] = v;
    }
  }
  if (n % 2 != 0 || n <= 2) {
    p->core.resize(size_t(n) * n);
    p->core_t.resize(size_t(n) * n);
    for (int k = 0; k < n; k++)
      for (int i = 0; i < n; i++) {
        float v = float(std::cos(M_PI * (2.0 * i + 1.0) * k / (2.0 * n)));
        p->core[size_t(k) * n + i] = v;
        p->core_t[size_t(i) * n + k] = v;
      }
    return p;
  }
  const int h = n / 2;
  p->odd.resize(size_t(h) * h);
  p->odd_t.resize(size_t(h) * h);
  for (int m = 0; m < h; m++)
    for (int i = 0; i < h; i++) {
      float v = float(std::cos(M_PI * (2.0 * i + 1.0) * (2.0 * m + 1.0) / (2.0 * n)));
      p->odd[size_t(m) * h + i] = v;
      p->odd_t[size_t(i) * h + m] = v;
    }
  p->half = MakePlan(h);
  return p;
}

const DctPlan& GetPlan(int n) {
  static std::mutex mu;
  static std::map<int, std::unique_ptr<DctPlan>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[n];
  if (!slot) slot = MakePlan(n);
  return *slot;
}

// y = C_n · x on rows of len floats; row i of x at x + i·xs, row k of y at y + k·ys.
// Even outputs come straight from the half-size recursion written with stride 2·ys, odd outputs from
// the (n/2)² product written with stride 2·ys: no interleaving copies. Scratch: 2·n·len floats.
void CoreForward(const DctPlan& p, const float* __restrict x, size_t xs, float* __restrict y, size_t ys, int len, float* scratch) {
  const int n = p.n;
  if (p.Leaf()) return MatMul(p.core.data(), x, xs, y, ys, n, n, len, false);
  const int h = n / 2;
  const size_t block = size_t(h) * len;
  float* s = scratch;
  float* d = scratch + block;
  for (int i = 0; i < h; i++) {
    const float* a = x + i * xs;
    const float* b = x + (n - 1 - i) * xs;
    float* si = s + size_t(i) * len;
    float* di = d + size_t(i) * len;
    for (int j = 0; j < len; j++) {
      si[j] = a[j] + b[j];
      di[j] = a[j] - b[j];
    }
  }
  CoreForward(*p.half, s, len, y, 2 * ys, len, scratch + 2 * block);
  MatMul(p.odd.data(), d, len, y + ys, 2 * ys, h, h, len, false);
}

// x = C_nᵀ · y, the transpose of CoreForward (same strides convention).
void CoreTranspose(const DctPlan& p, const float* __restrict y, size_t ys, float* __restrict x, size_t xs, int len, float* scratch) {
  const int n = p.n;
  if (p.Leaf()) return MatMul(p.core_t.data(), y, ys, x, xs, n, n, len, false);
  const int h = n / 2;
  const size_t block = size_t(h) * len;
  float* a = scratch;
  float* b = scratch + block;
  CoreTranspose(*p.half, y, 2 * ys, a, len, len, scratch + 2 * block);
  MatMul(p.odd_t.data(), y + ys, 2 * ys, b, len, h, h, len, false);
  for (int i = 0; i < h; i++) {
    const float* ai = a + size_t(i) * len;
    const float* bi = b + size_t(i) * len;
    float* lo = x + i * xs;
    float* hi = x + (n - 1 - i) * xs;
    for (int j = 0; j < len; j++) {
      lo[j] = ai[j] + bi[j];
      hi[j] = ai[j] - bi[j];
    }
  }
}

inline void ScaleRows(float* rows, const std::vector<float>& scale, int len) {
  for (size_t k = 0; k < scale.size(); k++) {
    const float sk = scale[k];
    float* r = rows + k * len;
    for (int j = 0; j < len; j++) r[j] *= sk;
  }
}

// out [cols][rows] = in [rows][cols]ᵀ, out rows ldo apart
inline void Transpose(const float* __restrict in, float* __restrict out, int rows, int cols, size_t ldo) {
  constexpr int B = 16;
  for (int i0 = 0; i0 < rows; i0 += B)
    for (int j0 = 0; j0 < cols; j0 += B)
      for (int i = i0; i < std::min(rows, i0 + B); i++)
        for (int j = j0; j < std::min(cols, j0 + B); j++) out[j * ldo + i] = in[size_t(i) * cols + j];
}

// Per-thread tile buffers, reused across calls (no allocation or zeroing per job), 64-byte aligned.
float* TileScratch(size_t floats) {
  thread_local std::vector<float> buffer;
  if (buffer.size() < floats + 16) buffer.resize(floats + 16);
  const uintptr_t at = reinterpret_cast<uintptr_t>(buffer.data());
  return reinterpret_cast<float*>((at + 63) & ~uintptr_t(63));
}

// Copies n floats from an L1-resident buffer to memory that is not read again soon, with
// non-temporal stores for the whole 64-byte lines (no read-for-ownership of the destination: a
// plain store of a 64 MB result reads it first, which cost more than the math, measured). The
// destination may have any 4-byte alignment (V8's large ArrayBuffers are 16-byte aligned): partial
// lines at either end use plain masked stores. Callers end their job with StreamFence().
inline void StreamCopy(float* __restrict dst, const float* __restrict src, size_t n) {
#if defined(__AVX512F__)
  size_t head = ((64 - (reinterpret_cast<uintptr_t>(dst) & 63)) & 63) / 4;
  if ((reinterpret_cast<uintptr_t>(dst) & 3) != 0) head = n;  // not float-aligned: plain stores only
  head = std::min(head, n);
  size_t i = 0;
  for (; i + 16 <= head; i += 16) _mm512_storeu_ps(dst + i, _mm512_loadu_ps(src + i));
  if (i < head) {
    const __mmask16 m = __mmask16((1u << (head - i)) - 1);
    _mm512_mask_storeu_ps(dst + i, m, _mm512_maskz_loadu_ps(m, src + i));
    i = head;
  }
  for (; i + 16 <= n; i += 16) _mm512_stream_ps(dst + i, _mm512_loadu_ps(src + i));
  if (i < n) {
    const __mmask16 m = __mmask16((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(dst + i, m, _mm512_maskz_loadu_ps(m, src + i));
  }
#else
  std::copy_n(src, n, dst);
#endif
}

// Orders this thread's non-temporal stores before the job is reported done.
inline void StreamFence() {
#if defined(__AVX512F__)
  _mm_sfence();
#endif
}

// ------------------------------------------------------------------ fast 64×64 tiles (AVX-512)
// The DeMo/Psyche chunk is 64×64. Both 1-D passes use Lee's fast DCT on 64 vectors at once (each
// vector = 16 independent columns), so a 1-D transform of 16 columns costs ~600 vector operations
// instead of 4,096 FMAs. Lee's recursion (unnormalized C[k][n] = cos(π(2n+1)k / 2N)):
//   forward  g_n = x_n + x_{N−1−n},  h_n = (x_n − x_{N−1−n}) / (2 cos(π(2n+1)/2N));
//            X_{2k} = G_k,  X_{2k+1} = H_k + H_{k+1}  (H_{N/2} = 0), G, H size-N/2 transforms;
//   inverse  G = C_{N/2}ᵀ X_even,  H = C_{N/2}ᵀ z with z_m = X_{2m+1} + X_{2m−1} (X_{−1} = 0),
//            x_n = G_n + H_n / (2 cos(π(2n+1)/2N)),  x_{N−1−n} = G_n − H_n / (2 cos …).
// The pass along the other axis goes through 16×16 register transposes. The orthonormal scales
// s_k s_l are applied once per coefficient (a 64×64 table). Float32 error stays ~1e-6 relative
// (checked against float64 in the tests and the standalone check).
#if defined(__AVX512F__)
#define PSYCHE_INLINE inline __attribute__((always_inline))

template <int N>
struct LeeConstants {
  float c[N / 2];
  LeeConstants() {
    for (int n = 0; n < N / 2; n++) c[n] = float(0.5 / std::cos(M_PI * (2.0 * n + 1.0) / (2.0 * N)));
  }
};
template <int N>
const LeeConstants<N> kLee{};

template <int N>
PSYCHE_INLINE void LeeForward(__m512* x) {
  if constexpr (N > 1) {
    constexpr int H = N / 2;
    __m512 g[H], h[H];
#pragma GCC unroll 64
    for (int n = 0; n < H; n++) {
      g[n] = _mm512_add_ps(x[n], x[N - 1 - n]);
      h[n] = _mm512_mul_ps(_mm512_sub_ps(x[n], x[N - 1 - n]), _mm512_set1_ps(kLee<N>.c[n]));
    }
    LeeForward<H>(g);
    LeeForward<H>(h);
#pragma GCC unroll 64
    for (int k = 0; k < H; k++) x[2 * k] = g[k];
#pragma GCC unroll 64
    for (int k = 0; k + 1 < H; k++) x[2 * k + 1] = _mm512_add_ps(h[k], h[k + 1]);
    x[N - 1] = h[H - 1];
  }
}

template <int N>
PSYCHE_INLINE void LeeInverse(__m512* x) {
  if constexpr (N > 1) {
    constexpr int H = N / 2;
    __m512 g[H], h[H];
#pragma GCC unroll 64
    for (int m = 0; m < H; m++) g[m] = x[2 * m];
    h[0] = x[1];
#pragma GCC unroll 64
    for (int m = 1; m < H; m++) h[m] = _mm512_add_ps(x[2 * m + 1], x[2 * m - 1]);
    LeeInverse<H>(g);
    LeeInverse<H>(h);
#pragma GCC unroll 64
    for (int n = 0; n < H; n++) {
      const __m512 t = _mm512_mul_ps(h[n], _mm512_set1_ps(kLee<N>.c[n]));
      x[n] = _mm512_add_ps(g[n], t);
      x[N - 1 - n] = _mm512_sub_ps(g[n], t);
    }
  }
}

// One out-of-line copy of each 64-point transform (inlined everywhere it is ~600 instructions).
__attribute__((noinline)) void Forward64(__m512* x) { LeeForward<64>(x); }
__attribute__((noinline)) void Inverse64(__m512* x) { LeeInverse<64>(x); }

// r[i] lane j ↔ r[j] lane i for a 16×16 block held in 16 registers.
PSYCHE_INLINE void Transpose16(__m512* r) {
  __m512 t[16];
#pragma GCC unroll 8
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  auto lo = [](__m512 a, __m512 b) { return _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a), _mm512_castps_pd(b))); };
  auto hi = [](__m512 a, __m512 b) { return _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a), _mm512_castps_pd(b))); };
#pragma GCC unroll 4
  for (int i = 0; i < 4; i++) {
    r[4 * i + 0] = lo(t[4 * i], t[4 * i + 2]);
    r[4 * i + 1] = hi(t[4 * i], t[4 * i + 2]);
    r[4 * i + 2] = lo(t[4 * i + 1], t[4 * i + 3]);
    r[4 * i + 3] = hi(t[4 * i + 1], t[4 * i + 3]);
  }
#pragma GCC unroll 2
  for (int h = 0; h < 2; h++)
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
      t[8 * h + i] = _mm512_shuffle_f32x4(r[8 * h + i], r[8 * h + 4 + i], 0x88);
      t[8 * h + 4 + i] = _mm512_shuffle_f32x4(r[8 * h + i], r[8 * h + 4 + i], 0xdd);
    }
#pragma GCC unroll 8
  for (int i = 0; i < 8; i++) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
    r[8 + i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xdd);
  }
}

struct Tile64Tables {
  alignas(64) float scale[64 * 64];  // s_k · s_l, the orthonormal scales of both axes
  alignas(64) float basis[64 * 64];  // D[v][j] = s_v cos(π(2j+1)v / 128), rows of the sparse inverse
  float axis[64];                    // s_k
  Tile64Tables() {
    auto s = [](int k) { return k == 0 ? std::sqrt(1.0 / 64) : std::sqrt(2.0 / 64); };
    for (int k = 0; k < 64; k++) axis[k] = float(s(k));
    for (int k = 0; k < 64; k++)
      for (int l = 0; l < 64; l++) {
        scale[k * 64 + l] = float(s(k) * s(l));
        basis[k * 64 + l] = float(s(k) * std::cos(M_PI * (2.0 * l + 1.0) * k / 128.0));
      }
  }
};
const Tile64Tables kTile64{};

// out (64×64, row stride 64) = D · X · Dᵀ for the tile at `in` (row stride ld). t: 2 · 64×64 scratch.
// `next` (may be null): the following tile's input, prefetched while this one computes (its 64
// rows are 64 separate streams, more than the hardware prefetchers follow).
void EncodeTile64(const float* __restrict in, size_t ld, float* __restrict out, float* __restrict t, const float* next) {
  __m512 v[64];
  for (int s = 0; s < 4; s++) {  // along the row index, 16 columns at a time
    for (int i = 0; i < 64; i++) v[i] = _mm512_loadu_ps(in + i * ld + 16 * s);
    if (next)
      for (int i = 0; i < 64; i++) _mm_prefetch(reinterpret_cast<const char*>(next + i * ld + 16 * s), _MM_HINT_T1);  // to L2: 19.5 vs 21 (L1) vs 22 ms (none)
    Forward64(v);
    for (int k = 0; k < 64; k++) _mm512_store_ps(t + k * 64 + 16 * s, v[k]);
  }
  for (int s = 0; s < 4; s++) {  // along the rows, 16 rows at a time (transposed into lanes)
    for (int b = 0; b < 4; b++) {
      for (int r = 0; r < 16; r++) v[16 * b + r] = _mm512_load_ps(t + (16 * s + r) * 64 + 16 * b);
      Transpose16(v + 16 * b);
    }
    Forward64(v);
    for (int b = 0; b < 4; b++) {
      Transpose16(v + 16 * b);
      for (int r = 0; r < 16; r++) {
        const int at = (16 * s + r) * 64 + 16 * b;
        _mm512_store_ps(t + 4096 + at, _mm512_mul_ps(v[16 * b + r], _mm512_load_ps(kTile64.scale + at)));
      }
    }
  }
  StreamCopy(out, t + 4096, 4096);
}

// Tiles with at most this many nonzero coefficients take the sparse first pass (≈ 10 vector ops
// per nonzero against ≈ 3,000 for the dense pass; a selection leaves k = 32 per tile).
constexpr int kSparseDecodeMax = 256;

// x (64×64, aligned) = Dᵀ · Y · D for the 64×64 coefficient tile y (z: 64×64 aligned scratch, may be x).
// First pass Z = S Y D (per coefficient row): sparse (one 64-float row of D per nonzero, chosen by
// counting nonzeros, so it is exact for any input) or dense (fast transform through transposes).
// Second pass X = Cᵀ Z along the row index, in place.
void DecodeTile64(const float* __restrict y, float* z) {
  __m512 v[64];
  const __m512 zero = _mm512_setzero_ps();
  int nonzero = 0;
  for (int i = 0; i < 256; i++) nonzero += __builtin_popcount(_mm512_cmp_ps_mask(_mm512_loadu_ps(y + 16 * i), zero, _CMP_NEQ_UQ));
  if (nonzero <= kSparseDecodeMax) {
    for (int u = 0; u < 64; u++) {
      __m512 acc[4] = {zero, zero, zero, zero};
      for (int q = 0; q < 4; q++) {
        for (unsigned m = _mm512_cmp_ps_mask(_mm512_loadu_ps(y + u * 64 + 16 * q), zero, _CMP_NEQ_UQ); m != 0; m &= m - 1) {
          const int col = 16 * q + __builtin_ctz(m);
          const __m512 a = _mm512_set1_ps(y[u * 64 + col] * kTile64.axis[u]);
          const float* d = kTile64.basis + col * 64;
          for (int p = 0; p < 4; p++) acc[p] = _mm512_fmadd_ps(a, _mm512_load_ps(d + 16 * p), acc[p]);
        }
      }
      for (int p = 0; p < 4; p++) _mm512_store_ps(z + u * 64 + 16 * p, acc[p]);
    }
  } else {
    for (int s = 0; s < 4; s++) {
      for (int b = 0; b < 4; b++) {
        for (int r = 0; r < 16; r++) {
          const int at = (16 * s + r) * 64 + 16 * b;
          v[16 * b + r] = _mm512_mul_ps(_mm512_loadu_ps(y + at), _mm512_load_ps(kTile64.scale + at));
        }
        Transpose16(v + 16 * b);
      }
      Inverse64(v);
      for (int b = 0; b < 4; b++) {
        Transpose16(v + 16 * b);
        for (int r = 0; r < 16; r++) _mm512_store_ps(z + (16 * s + r) * 64 + 16 * b, v[16 * b + r]);
      }
    }
  }
  for (int s = 0; s < 4; s++) {
    for (int u = 0; u < 64; u++) v[u] = _mm512_load_ps(z + u * 64 + 16 * s);
    Inverse64(v);
    for (int n = 0; n < 64; n++) _mm512_store_ps(z + n * 64 + 16 * s, v[n]);  // column strip s is consumed
  }
}

// Writes decoded 64×64 tiles into the tensor's rows with non-temporal stores of whole 64-byte lines.
// A tile's 256-byte row pieces are not line-aligned in V8's buffers (16-byte aligned), so the line
// shared by tiles tx and tx+1 is completed from the previous tile's last vector of that row (kept in
// `carry_`) when one thread writes them in sequence; only a run's first and last partial lines use
// plain masked stores. (Plain stores of the whole tile read every line first: +64 MB of traffic.)
class TileRowStreamer {
 public:
  TileRowStreamer(const float* base, size_t ld) : ld_(ld) {
    misalign_ = int((reinterpret_cast<uintptr_t>(base) & 63) / 4);
    plain_ = (reinterpret_cast<uintptr_t>(base) & 3) != 0 || ld % 16 != 0;
    idx_ = _mm512_add_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(16 - misalign_));
  }
  // Writes tile rows x (64×64, aligned) to out (row stride ld); `continues` = the previous Put of
  // this streamer was the tile just left of this one.
  void Put(const float* __restrict x, float* __restrict out, bool continues) {
    if (!continues) Flush();
    const int m = misalign_;
    for (int n = 0; n < 64; n++) {
      float* dst = out + n * ld_;
      const __m512 x0 = _mm512_load_ps(x + n * 64), x1 = _mm512_load_ps(x + n * 64 + 16);
      const __m512 x2 = _mm512_load_ps(x + n * 64 + 32), x3 = _mm512_load_ps(x + n * 64 + 48);
      if (plain_) {
        _mm512_storeu_ps(dst, x0), _mm512_storeu_ps(dst + 16, x1), _mm512_storeu_ps(dst + 32, x2), _mm512_storeu_ps(dst + 48, x3);
      } else if (m == 0) {
        _mm512_stream_ps(dst, x0), _mm512_stream_ps(dst + 16, x1), _mm512_stream_ps(dst + 32, x2), _mm512_stream_ps(dst + 48, x3);
      } else {
        float* line = dst - m;  // 64-byte aligned
        if (pending_) _mm512_stream_ps(line, _mm512_permutex2var_ps(carry_[n], idx_, x0));
        else _mm512_mask_storeu_ps(dst, __mmask16((1u << (16 - m)) - 1), x0);
        _mm512_stream_ps(line + 16, _mm512_permutex2var_ps(x0, idx_, x1));
        _mm512_stream_ps(line + 32, _mm512_permutex2var_ps(x1, idx_, x2));
        _mm512_stream_ps(line + 48, _mm512_permutex2var_ps(x2, idx_, x3));
        carry_[n] = x3;
        last_[n] = dst;
      }
    }
    pending_ = !plain_ && m != 0;
  }
  // The last tile's trailing partial lines (its rows' last m floats).
  void Flush() {
    if (!pending_) return;
    const __mmask16 tail = __mmask16(((1u << misalign_) - 1) << (16 - misalign_));
    for (int n = 0; n < 64; n++) _mm512_mask_storeu_ps(last_[n] + 48, tail, carry_[n]);
    pending_ = false;
  }

 private:
  size_t ld_;
  int misalign_ = 0;
  bool plain_ = false, pending_ = false;
  __m512i idx_;
  __m512 carry_[64];
  float* last_[64];
};
#endif

// Y = D_r · X · D_cᵀ per tile. Along the row index (each element a row of C floats) the fast even/odd
// transform, read straight from the row-major input; along the rows a dense product with D_cᵀ in the
// register-blocked kernel, written straight into the chunk-major output. (A second fast pass needs
// two 64×64 transposes, which cost more than the dense product saves: measured.)
void Encode(const float* input, float* output, const Layout& l) {
  const int R = int(l.chunk_rows), C = int(l.chunk_cols);
  const DctPlan& pr = GetPlan(R);
  const DctPlan& pc = GetPlan(C);
  const int64_t col_chunks = l.ColChunks(), elems = l.ChunkElems();
#if defined(__AVX512F__)
  if (R == 64 && C == 64) {
    return Pool().ParallelFor(size_t(l.NumChunks()), 8, [&](size_t begin, size_t end) {
      float* t = TileScratch(2 * 64 * 64);
      auto tile = [&](size_t c) { return input + int64_t(c) / col_chunks * 64 * l.cols + int64_t(c) % col_chunks * 64; };
      for (size_t c = begin; c < end; c++) EncodeTile64(tile(c), size_t(l.cols), output + int64_t(c) * elems, t, c + 1 < end ? tile(c + 1) : nullptr);
      StreamFence();
    });
  }
#endif
  Pool().ParallelFor(size_t(l.NumChunks()), 8, [&](size_t begin, size_t end) {
    float* t1 = TileScratch(6 * size_t(elems) + 64);
    float* scratch = t1 + elems;
    for (size_t c = begin; c < end; c++) {
      const int64_t ty = int64_t(c) / col_chunks, tx = int64_t(c) % col_chunks;
      CoreForward(pr, input + ty * R * l.cols + tx * C, size_t(l.cols), t1, C, C, scratch);  // C_r · X   [R][C]
      ScaleRows(t1, pr.scale, C);                                                          // D_r · X
      MatMul(t1, pc.basis_t.data(), C, output + int64_t(c) * elems, C, R, C, C, false);    // · D_cᵀ
    }
  });
}

// X = D_rᵀ · Y · D_c per tile: the dense product with D_c along the rows, then the transposed fast
// transform along the row index, copied row by row into the tensor.
void Decode(const float* coefficients, float* output, const Layout& l) {
  const int R = int(l.chunk_rows), C = int(l.chunk_cols);
  const DctPlan& pr = GetPlan(R);
  const DctPlan& pc = GetPlan(C);
  const int64_t col_chunks = l.ColChunks(), elems = l.ChunkElems();
#if defined(__AVX512F__)
  if (R == 64 && C == 64) {
    return Pool().ParallelFor(size_t(l.NumChunks()), 16, [&](size_t begin, size_t end) {
      float* z = TileScratch(64 * 64);
      TileRowStreamer rows(output, size_t(l.cols));
      for (size_t c = begin; c < end; c++) {
        const int64_t ty = int64_t(c) / col_chunks, tx = int64_t(c) % col_chunks;
        DecodeTile64(coefficients + int64_t(c) * elems, z);
        rows.Put(z, output + ty * 64 * l.cols + tx * 64, c > begin && tx > 0);
      }
      rows.Flush();
      StreamFence();
    });
  }
#endif
  Pool().ParallelFor(size_t(l.NumChunks()), 8, [&](size_t begin, size_t end) {
    float* t1 = TileScratch(6 * size_t(elems) + 64);
    float* scratch = t1 + elems;
    for (size_t c = begin; c < end; c++) {
      const int64_t ty = int64_t(c) / col_chunks, tx = int64_t(c) % col_chunks;
      MatMul(coefficients + int64_t(c) * elems, pc.basis.data(), C, t1, C, R, C, C, false);  // Y · D_c   [R][C]
      ScaleRows(t1, pr.scale, C);                                                           // S_r · (Y D_c)
      CoreTranspose(pr, t1, C, output + ty * R * l.cols + tx * C, size_t(l.cols), C, scratch);  // C_rᵀ · …
    }
  });
}

// ------------------------------------------------------------------ top-k
// Tie rule: larger magnitude wins; equal magnitudes: lower index wins; NaN has magnitude −1.
inline float Magnitude(float v) { return v == v ? std::fabs(v) : -1.f; }
inline bool Worse(float ma, uint32_t ia, float mb, uint32_t ib) { return ma < mb || (ma == mb && ia > ib); }

void TopkChunk(const float* x, uint32_t n, uint32_t k, uint32_t* indices, float* values, float* heap_mag, uint32_t* heap_idx) {
  uint32_t size = 0;
  uint32_t i = 0;
  // Fill the min-heap (root = worst winner) with the first k entries.
  for (; i < n && size < k; i++) {
    const float m = Magnitude(x[i]);
    uint32_t pos = size++;
    while (pos > 0) {
      uint32_t parent = (pos - 1) >> 1;
      if (m <= heap_mag[parent]) {  // i is the largest index so far: on equal magnitude it is worse
        heap_mag[pos] = heap_mag[parent];
        heap_idx[pos] = heap_idx[parent];
        pos = parent;
      } else {
        break;
      }
    }
    heap_mag[pos] = m;
    heap_idx[pos] = i;
  }
  auto offer = [&](uint32_t idx, float m) {
    // A later index beats the root only with a strictly larger magnitude.
    if (!(m > heap_mag[0])) return;
    uint32_t pos = 0;
    for (;;) {
      uint32_t left = 2 * pos + 1;
      if (left >= k) break;
      uint32_t child = left;
      if (left + 1 < k && Worse(heap_mag[left + 1], heap_idx[left + 1], heap_mag[left], heap_idx[left])) child = left + 1;
      if (Worse(heap_mag[child], heap_idx[child], m, idx)) {
        heap_mag[pos] = heap_mag[child];
        heap_idx[pos] = heap_idx[child];
        pos = child;
      } else {
        break;
      }
    }
    heap_mag[pos] = m;
    heap_idx[pos] = idx;
  };
  // Blocks of 16: a vectorized "does anything beat the root" test skips most blocks outright.
#if defined(__AVX512F__)
  // 64 at a time: |x| > root on four vectors; NaN compares false (ordered compare), as it should.
  const __m512 abs_mask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
  for (; i + 64 <= n; i += 64) {
    const __m512 root = _mm512_set1_ps(heap_mag[0]);
    __mmask16 hits[4];
    for (int q = 0; q < 4; q++) hits[q] = _mm512_cmp_ps_mask(_mm512_and_ps(_mm512_loadu_ps(x + i + 16 * q), abs_mask), root, _CMP_GT_OQ);
    if (!(hits[0] | hits[1] | hits[2] | hits[3])) continue;
    // Offer only the lanes that beat the old root, in index order (offer re-checks the new root).
    for (int q = 0; q < 4; q++)
      for (unsigned m = hits[q]; m != 0; m &= m - 1) {
        const uint32_t j = i + 16 * q + uint32_t(__builtin_ctz(m));
        offer(j, Magnitude(x[j]));
      }
  }
#endif
  for (; i + 16 <= n; i += 16) {
    const float root = heap_mag[0];
    bool any = false;
    for (int j = 0; j < 16; j++) any |= std::fabs(x[i + j]) > root;  // NaN compares false, as it should
    if (!any) continue;
    for (uint32_t j = i; j < i + 16; j++) offer(j, Magnitude(x[j]));
  }
  for (; i < n; i++) offer(i, Magnitude(x[i]));
  std::copy_n(heap_idx, k, indices);
  std::sort(indices, indices + k);
  for (uint32_t j = 0; j < k; j++) values[j] = x[indices[j]];
}

constexpr uint32_t kGroups = 256;

#if !defined(__AVX512F__)
// Threshold path for chunks of G·rows elements with k ≤ G/4 (G = 256): view the chunk as rows of G,
// take the lane-wise maximum magnitude over the rows (G group maxima) and from them a threshold T
// that at least k elements reach (below), so every winner has magnitude ≥ T. Collect those candidates (a about 120 for k = 32 of 4096) in one
// vectorized pass, then apply the tie rule exactly to them. Same result as the heap, far fewer branches.

std::vector<float>& TopkSpill() {
  thread_local std::vector<float> spill;
  return spill;
}

bool TopkChunkThreshold(const float* x, uint32_t n, uint32_t k, uint32_t* indices, float* values, float* group_max, std::vector<std::pair<float, uint32_t>>& cand) {
  for (uint32_t g = 0; g < kGroups; g++) group_max[g] = Magnitude(x[g]);
  for (uint32_t r = kGroups; r < n; r += kGroups)
    for (uint32_t g = 0; g < kGroups; g++) {
      const float m = Magnitude(x[r + g]);
      group_max[g] = m > group_max[g] ? m : group_max[g];
    }
  // A cheap lower bound instead of the exact k-th largest group maximum (nth_element cost more than
  // the rest, measured): split the groups into k disjoint runs; each run's maximum is ≥ the minimum
  // of them, so at least k elements are ≥ that minimum.
  const uint32_t per = kGroups / k;
  float threshold = INFINITY;
  for (uint32_t r = 0; r < k; r++) {
    float m = group_max[r * per];
    for (uint32_t g = 1; g < per; g++) m = std::max(m, group_max[r * per + g]);
    threshold = std::min(threshold, m);
  }
  if (!(threshold >= 0.f)) return false;  // NaNs among the winners: let the heap path decide
  cand.clear();
  uint32_t i = 0;
  for (; i < n; i++)
    if (Magnitude(x[i]) >= threshold) cand.emplace_back(std::fabs(x[i]), i);
  if (cand.size() < k) return false;  // cannot happen for finite data; stay exact regardless
  // Candidates are in ascending index order. The k-th largest magnitude m_k splits them: every
  // candidate above m_k wins, and ties at m_k fill the rest lowest index first, which is the tie rule;
  // the winners come out already ascending by index.
  float* mags = group_max;  // reuse: cand.size() ≤ n, but only the magnitudes are needed here
  std::vector<float>& spill = TopkSpill();
  if (cand.size() > kGroups) {
    spill.resize(cand.size());
    mags = spill.data();
  }
  for (size_t j = 0; j < cand.size(); j++) mags[j] = cand[j].first;
  std::nth_element(mags, mags + (k - 1), mags + cand.size(), std::greater<float>());
  const float kth = mags[k - 1];
  uint32_t above = 0;
  for (const auto& c : cand) above += c.first > kth;
  uint32_t ties_left = k - above, j = 0;
  for (const auto& c : cand) {
    if (c.first > kth || (c.first == kth && ties_left > 0 && ties_left--)) {
      indices[j] = c.second;
      values[j] = x[c.second];
      j++;
    }
  }
  return true;
}

#endif

#if defined(__AVX512F__)
// AVX-512 threshold top-k for chunks of G·rows elements (G = 256). Magnitudes are compared as the
// integer bits of |x| (the same order as the floats for non-NaN values; ±0 both map to 0):
//  1. lane-wise maxima over the rows: 256 group maxima (a chunk with a NaN goes to the heap path);
//  2. T = a lower bound of the k-th largest group maximum, by bisection on its bits (k groups reach
//     T, so at least k elements do: every winner is ≥ T);
//  3. one pass compresses the candidates ≥ T (magnitude bits and index, in index order);
//  4. the k-th largest candidate magnitude m_k, exactly, by bisection on its 31 bits;
//  5. winners = candidates > m_k, plus the lowest-index candidates = m_k until k are taken — the tie
//     rule — already ascending by index.
struct TopkScratch {
  std::vector<uint32_t> mags, idx;  // candidates, n + 16 each (full-vector stores)
  std::vector<uint32_t> winners;    // k + 16
};

inline uint32_t CountAtLeast(const uint32_t* a, uint32_t n, uint32_t t) {
  const __m512i tv = _mm512_set1_epi32(int(t));
  uint32_t count = 0, i = 0;
  for (; i + 16 <= n; i += 16) count += __builtin_popcount(_mm512_cmpge_epu32_mask(_mm512_loadu_si512(a + i), tv));
  if (i < n) {
    const __mmask16 tail = __mmask16((1u << (n - i)) - 1);
    count += __builtin_popcount(_mm512_mask_cmpge_epu32_mask(tail, _mm512_maskz_loadu_epi32(tail, a + i), tv));
  }
  return count;
}

// The lowest `count` set bits of m (count < popcount(m)).
inline __mmask16 LowestBits(__mmask16 m, uint32_t count) {
#if defined(__BMI2__)
  return __mmask16(_pdep_u32((1u << count) - 1, m));
#else
  unsigned out = 0;
  for (unsigned left = m; count > 0; count--, left &= left - 1) out |= left & (0u - left);
  return __mmask16(out);
#endif
}

bool TopkChunkAvx512(const float* x, uint32_t n, uint32_t k, uint32_t* indices, float* values, TopkScratch& s) {
  const __m512i abs_mask = _mm512_set1_epi32(0x7fffffff);
  __m512i gmax[16];
  for (int q = 0; q < 16; q++) gmax[q] = _mm512_setzero_si512();
  for (uint32_t r = 0; r < n; r += kGroups)
    for (int q = 0; q < 16; q++) gmax[q] = _mm512_max_epu32(gmax[q], _mm512_and_si512(_mm512_loadu_si512(x + r + 16 * q), abs_mask));
  alignas(64) uint32_t groups[kGroups];
  __m512i top = gmax[0];
  for (int q = 0; q < 16; q++) {
    top = _mm512_max_epu32(top, gmax[q]);
    _mm512_store_si512(groups + 16 * q, gmax[q]);
  }
  if (uint32_t(_mm512_reduce_max_epu32(top)) > 0x7f800000u) return false;  // a NaN: the heap path decides
  // 2. bisection on the high bits only: a lower bound within 2^-7 of the k-th group maximum is enough
  uint32_t threshold = 0;
  for (int bit = 30; bit >= 15; bit--) {
    const uint32_t t = threshold | (1u << bit);
    if (CountAtLeast(groups, kGroups, t) >= k) threshold = t;
  }
  // 3. candidates ≥ threshold, compressed in index order
  s.mags.resize(n + 16);
  s.idx.resize(n + 16);
  s.winners.resize(k + 16);
  uint32_t* cm = s.mags.data();
  uint32_t* ci = s.idx.data();
  const __m512i tv = _mm512_set1_epi32(int(threshold));
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  uint32_t nc = 0;
  for (uint32_t i = 0; i < n; i += 16) {
    const __m512i a = _mm512_and_si512(_mm512_loadu_si512(x + i), abs_mask);
    const __mmask16 m = _mm512_cmpge_epu32_mask(a, tv);
    if (m == 0) continue;
    _mm512_storeu_si512(cm + nc, _mm512_maskz_compress_epi32(m, a));
    _mm512_storeu_si512(ci + nc, _mm512_maskz_compress_epi32(m, _mm512_add_epi32(lane, _mm512_set1_epi32(int(i)))));
    nc += __builtin_popcount(m);
  }
  // 4. the k-th largest candidate magnitude (nc ≥ k by construction of the threshold)
  uint32_t kth = 0;
  for (int bit = 30; bit >= 0; bit--) {
    const uint32_t t = kth | (1u << bit);
    if (CountAtLeast(cm, nc, t) >= k) kth = t;
  }
  // 5. everything above m_k, then ties at m_k lowest index first
  uint32_t ties = k - CountAtLeast(cm, nc, kth + 1);
  const __m512i kv = _mm512_set1_epi32(int(kth));
  uint32_t* w = s.winners.data();
  uint32_t taken = 0;
  for (uint32_t i = 0; i < nc; i += 16) {
    const __mmask16 valid = nc - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (nc - i)) - 1);
    const __m512i m = _mm512_loadu_si512(cm + i);
    const __mmask16 gt = _mm512_mask_cmpgt_epu32_mask(valid, m, kv);
    __mmask16 eq = _mm512_mask_cmpeq_epu32_mask(valid, m, kv);
    const uint32_t neq = __builtin_popcount(eq);
    if (neq > ties) eq = LowestBits(eq, ties);
    ties -= __builtin_popcount(eq);
    const __mmask16 take = gt | eq;
    _mm512_storeu_si512(w + taken, _mm512_maskz_compress_epi32(take, _mm512_loadu_si512(ci + i)));
    taken += __builtin_popcount(take);
  }
  for (uint32_t j = 0; j < k; j++) {
    indices[j] = w[j];
    values[j] = x[w[j]];
  }
  return true;
}
#endif

void Topk(const float* coefficients, const Layout& l, uint32_t k, uint32_t* indices, float* values) {
  const uint32_t elems = uint32_t(l.ChunkElems());
  const bool threshold_path = elems % kGroups == 0 && elems >= 4 * kGroups && k <= kGroups / 4;
  Pool().ParallelFor(size_t(l.NumChunks()), 64, [&](size_t begin, size_t end) {
    std::vector<float> heap_mag(k), group_max(kGroups);
    std::vector<uint32_t> heap_idx(k);
#if defined(__AVX512F__)
    TopkScratch scratch;
#else
    std::vector<std::pair<float, uint32_t>> cand;
    cand.reserve(4 * k + 64);
#endif
    for (size_t c = begin; c < end; c++) {
      const float* x = coefficients + c * elems;
#if defined(__AVX512F__)
      if (threshold_path && TopkChunkAvx512(x, elems, k, indices + c * k, values + c * k, scratch)) continue;
#else
      if (threshold_path && TopkChunkThreshold(x, elems, k, indices + c * k, values + c * k, group_max.data(), cand)) continue;
#endif
      TopkChunk(x, elems, k, indices + c * k, values + c * k, heap_mag.data(), heap_idx.data());
    }
  });
}

// ------------------------------------------------------------------ scatter-mean
struct Selection {
  const uint32_t* indices;
  const float* values;
  uint32_t k;
};

// Per chunk: float64 sums and counts over all selections, then the mean where count > 0 (as the
// reference). Only the touched positions of the per-thread sums are reset and read, so a chunk costs
// one streamed write of its output plus O(selections · k).
void ScatterMean(const std::vector<Selection>& selections, const Layout& l, float* output) {
  const uint32_t elems = uint32_t(l.ChunkElems());
  Pool().ParallelFor(size_t(l.NumChunks()), 64, [&](size_t begin, size_t end) {
    std::vector<double> sums(elems);
    std::vector<uint32_t> counts(elems);
    float* out = TileScratch(elems);  // the chunk is built in cache, then streamed out whole
    for (size_t c = begin; c < end; c++) {
      std::fill(out, out + elems, 0.f);
      for (const Selection& s : selections)
        for (uint32_t j = 0; j < s.k; j++) {
          const uint32_t p = s.indices[c * s.k + j];
          sums[p] = 0.0;
          counts[p] = 0;
        }
      for (const Selection& s : selections)
        for (uint32_t j = 0; j < s.k; j++) {
          const uint32_t p = s.indices[c * s.k + j];
          sums[p] += s.values[c * s.k + j];
          counts[p]++;
        }
      for (const Selection& s : selections)
        for (uint32_t j = 0; j < s.k; j++) {
          const uint32_t p = s.indices[c * s.k + j];
          out[p] = float(sums[p] / counts[p]);
        }
      StreamCopy(output + c * elems, out, elems);
    }
    StreamFence();
  });
}

// ------------------------------------------------------------------ elementwise (float64 math, float32 storage, as the TS reference)
void DecayAccumulate(float* delta, const float* grad, size_t n, double decay, double lr) {
  Pool().ParallelFor(n, 1 << 16, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; i++) delta[i] = float(decay * double(delta[i]) + lr * double(grad[i]));
  });
}

void SignDescent(float* weights, const float* direction, size_t n, double lr) {
  Pool().ParallelFor(n, 1 << 16, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; i++) {
      const float d = direction[i];
      if (d > 0) weights[i] = float(double(weights[i]) - lr);
      else if (d < 0) weights[i] = float(double(weights[i]) + lr);
    }
  });
}

#ifndef PSYCHE_KERNELS_NO_NAPI
// ------------------------------------------------------------------ Node-API glue (napi_promise.h)
struct CpuBackend {
  static Layout ToLayout(const psyche_napi::Dims& d) { return Layout{d.rows, d.cols, d.chunk_rows, d.chunk_cols}; }
  static bool ChunkSupported(const psyche_napi::Dims&) { return true; }
  static void Dct(const float* in, float* out, const psyche_napi::Dims& d, bool inverse) { inverse ? Decode(in, out, ToLayout(d)) : Encode(in, out, ToLayout(d)); }
  static void Topk(const float* in, const psyche_napi::Dims& d, uint32_t k, uint32_t* indices, float* values) { ::Topk(in, ToLayout(d), k, indices, values); }
  static void ScatterMean(const std::vector<psyche_napi::SelectionArg>& args, const psyche_napi::Dims& d, float* out) {
    std::vector<Selection> selections;
    for (const auto& a : args) selections.push_back(Selection{a.indices, a.values, a.k});
    ::ScatterMean(selections, ToLayout(d), out);
  }
  static void DecayAccumulate(float* delta, const float* grad, size_t n, double decay, double lr) { ::DecayAccumulate(delta, grad, n, decay, lr); }
  static void SignDescent(float* weights, const float* direction, size_t n, double lr) { ::SignDescent(weights, direction, n, lr); }
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  psyche_napi::ExportKernels<CpuBackend>(env, exports);
  exports.Set("threads", Napi::Number::New(env, Pool().Size()));
#if defined(__AVX512F__)
  exports.Set("simd", Napi::String::New(env, "avx512"));
#elif defined(__AVX2__)
  exports.Set("simd", Napi::String::New(env, "avx2"));
#else
  exports.Set("simd", Napi::String::New(env, "baseline"));
#endif
  return exports;
}

#endif  // PSYCHE_KERNELS_NO_NAPI
}  // namespace

#ifndef PSYCHE_KERNELS_NO_NAPI
NODE_API_MODULE(psyche_distro_kernels, Init)
#endif

// Standalone per-phase profile of the native DisTrO kernels (no Node): accuracy of encode/decode
// against float64 on sampled tiles, top-k against a sort-based reference on every chunk, then the
// median thread-CPU ms of each phase of compress + decompress (4096×4096, chunk 64, top-32).
//   npm run bench:phases -w @psyche/gpu            (PSYCHE_KERNEL_THREADS=1: one thread, CPU ms)
#define PSYCHE_KERNELS_NO_NAPI
#include "distro_kernels.cc"
#include <chrono>
#include <cstdio>
#include <random>
#include <numeric>
#include <ctime>

static double now() { timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
static double cpu() { timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }

// float64 reference of one tile
static void RefEncodeTile(const float* in, size_t ld, int R, int C, double* out) {
  auto s = [](int k, int n) { return k == 0 ? std::sqrt(1.0 / n) : std::sqrt(2.0 / n); };
  std::vector<double> t(R * C);
  for (int k = 0; k < R; k++) for (int j = 0; j < C; j++) { double a = 0; for (int i = 0; i < R; i++) a += s(k, R) * std::cos(M_PI * (2 * i + 1) * k / (2.0 * R)) * in[i * ld + j]; t[k * C + j] = a; }
  for (int k = 0; k < R; k++) for (int l = 0; l < C; l++) { double a = 0; for (int j = 0; j < C; j++) a += s(l, C) * std::cos(M_PI * (2 * j + 1) * l / (2.0 * C)) * t[k * C + j]; out[k * C + l] = a; }
}
static void RefDecodeTile(const float* y, int R, int C, double* out /*R×C*/) {
  auto s = [](int k, int n) { return k == 0 ? std::sqrt(1.0 / n) : std::sqrt(2.0 / n); };
  std::vector<double> t(R * C);
  for (int u = 0; u < R; u++) for (int j = 0; j < C; j++) { double a = 0; for (int v = 0; v < C; v++) a += y[u * C + v] * s(v, C) * std::cos(M_PI * (2 * j + 1) * v / (2.0 * C)); t[u * C + j] = a; }
  for (int i = 0; i < R; i++) for (int j = 0; j < C; j++) { double a = 0; for (int u = 0; u < R; u++) a += t[u * C + j] * s(u, R) * std::cos(M_PI * (2 * i + 1) * u / (2.0 * R)); out[i * C + j] = a; }
}
static void RefTopk(const float* x, uint32_t n, uint32_t k, uint32_t* idx) {
  std::vector<uint32_t> o(n); std::iota(o.begin(), o.end(), 0);
  auto mag = [](float v) { return v == v ? std::fabs(v) : -1.f; };
  std::stable_sort(o.begin(), o.end(), [&](uint32_t a, uint32_t b) { return mag(x[a]) > mag(x[b]); });
  std::sort(o.begin(), o.begin() + k);
  std::copy_n(o.begin(), k, idx);
}

int main(int argc, char** argv) {
  bool ok = true;
  const int N = argc > 1 ? atoi(argv[1]) : 4096;
  const int runs = argc > 2 ? atoi(argv[2]) : 7;
  Layout l{N, N, 64, 64};
  const size_t size = size_t(N) * N;
  std::vector<float> in(size), coef(size), out(size), dec(size);
  std::mt19937 g(1); std::normal_distribution<float> nd;
  for (auto& v : in) v = nd(g);
  const uint32_t K = 32;
  std::vector<uint32_t> idx(l.NumChunks() * K); std::vector<float> val(l.NumChunks() * K);
  // correctness
  Encode(in.data(), coef.data(), l);
  double maxdiff = 0, maxref = 1; std::vector<double> ref(4096);
  for (int64_t c = 0; c < l.NumChunks(); c += 37) {
    int64_t ty = c / l.ColChunks(), tx = c % l.ColChunks();
    RefEncodeTile(in.data() + ty * 64 * N + tx * 64, N, 64, 64, ref.data());
    for (int i = 0; i < 4096; i++) { maxdiff = std::max(maxdiff, std::fabs(ref[i] - coef[c * 4096 + i])); maxref = std::max(maxref, std::fabs(ref[i])); }
  }
  printf("encode max rel diff vs f64: %.3e\n", maxdiff / maxref);
  ok &= maxdiff / maxref <= 1e-5;
  // decode of `coef` into `dec`, against float64 on every 37th tile
  auto check_decode = [&](const char* what) {
    Decode(coef.data(), dec.data(), l);
    double diff = 0, scale = 1;
    for (int64_t c = 0; c < l.NumChunks(); c += 37) {
      int64_t ty = c / l.ColChunks(), tx = c % l.ColChunks();
      RefDecodeTile(coef.data() + c * 4096, 64, 64, ref.data());
      for (int i = 0; i < 64; i++) for (int j = 0; j < 64; j++) { double r = ref[i * 64 + j]; diff = std::max(diff, std::fabs(r - dec[(ty * 64 + i) * N + tx * 64 + j])); scale = std::max(scale, std::fabs(r)); }
    }
    printf("%s decode max rel diff vs f64: %.3e\n", what, diff / scale);
    ok &= diff / scale <= 1e-5;
  };
  check_decode("dense");
  Topk(coef.data(), l, K, idx.data(), val.data());
  size_t bad = 0; std::vector<uint32_t> ri(K);
  for (int64_t c = 0; c < l.NumChunks(); c++) {
    RefTopk(coef.data() + c * 4096, 4096, K, ri.data());
    for (uint32_t j = 0; j < K; j++) if (ri[j] != idx[c * K + j] || val[c * K + j] != coef[c * 4096 + ri[j]]) { bad++; break; }
  }
  printf("topk mismatching chunks: %zu\n", bad);
  ok &= bad == 0;
  ScatterMean({Selection{idx.data(), val.data(), K}}, l, coef.data());
  check_decode("sparse");
  // timing
  std::vector<double> te, tt, ts, td, tc;
  for (int r = 0; r <= runs; r++) {
    double c0 = cpu(), t0 = now();
    Encode(in.data(), coef.data(), l); double t1 = now();
    Topk(coef.data(), l, K, idx.data(), val.data()); double t2 = now();
    ScatterMean({Selection{idx.data(), val.data(), K}}, l, coef.data()); double t3 = now();
    Decode(coef.data(), out.data(), l); double t4 = now();
    double c1 = cpu();
    if (!r) continue;
    te.push_back(t1 - t0); tt.push_back(t2 - t1); ts.push_back(t3 - t2); td.push_back(t4 - t3); tc.push_back(c1 - c0);
  }
  auto med = [](std::vector<double> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; };
  printf("threads %u, thread-CPU ms (median): encode %.3f topk %.3f scatter %.3f decode %.3f | sum %.1f, process CPU %.1f ms\n", Pool().Size(), med(te), med(tt), med(ts), med(td), med(te) + med(tt) + med(ts) + med(td), med(tc));
  return ok ? 0 : 1;
}

// Node-API addon over the CUDA DisTrO kernels (distro_kernels.cu, C API in distro_cuda.h), with the
// same JS functions and argument order as the CPU addon, so src/native-kernels.ts wraps both alike.
// Each call copies its host buffers to the device and back on a libuv worker thread.
// Built by `npm run build:cuda -w @psyche/gpu` only where nvcc exists. UNCHECKED ON A GPU so far.
#include <stdexcept>
#include <string>

#include "../napi_promise.h"
#include "distro_cuda.h"

namespace {

void Check(int rc) {
  if (rc != 0) throw std::runtime_error(std::string("CUDA kernel call failed: ") + psyche_cuda_error());
}

struct CudaBackend {
  static bool ChunkSupported(const psyche_napi::Dims& d) { return d.chunk_rows <= 64 && d.chunk_cols <= 64; }  // a tile in shared memory
  static void Dct(const float* in, float* out, const psyche_napi::Dims& d, bool inverse) {
    Check(psyche_cuda_host_dct(in, out, int(d.rows), int(d.cols), int(d.chunk_rows), int(d.chunk_cols), inverse ? 1 : 0));
  }
  static void Topk(const float* in, const psyche_napi::Dims& d, uint32_t k, uint32_t* indices, float* values) {
    Check(psyche_cuda_host_topk(in, int(d.NumChunks()), int(d.ChunkElems()), int(k), indices, values));
  }
  static void ScatterMean(const std::vector<psyche_napi::SelectionArg>& selections, const psyche_napi::Dims& d, float* out) {
    std::vector<const uint32_t*> indices;
    std::vector<const float*> values;
    std::vector<int> ks;
    for (const auto& s : selections) indices.push_back(s.indices), values.push_back(s.values), ks.push_back(int(s.k));
    Check(psyche_cuda_host_scatter_mean(indices.data(), values.data(), ks.data(), int(ks.size()), int(d.NumChunks()), int(d.ChunkElems()), out));
  }
  static void DecayAccumulate(float* delta, const float* grad, size_t n, double decay, double lr) { Check(psyche_cuda_host_decay_accumulate(delta, grad, n, decay, lr)); }
  static void SignDescent(float* weights, const float* direction, size_t n, double lr) { Check(psyche_cuda_host_sign_descent(weights, direction, n, lr)); }
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  psyche_napi::ExportKernels<CudaBackend>(env, exports);
  // 0 without a driver or GPU (the addon links the CUDA runtime statically, so it loads regardless).
  exports.Set("deviceCount", Napi::Function::New(env, [](const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), psyche_cuda_device_count()); }));
  exports.Set("deviceName", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                char name[256];
                return Napi::String::New(info.Env(), psyche_cuda_device_name(name, sizeof name) == 0 ? name : "unknown CUDA device");
              }));
  exports.Set("threads", Napi::Number::New(env, 0));
  exports.Set("simd", Napi::String::New(env, "cuda"));
  return exports;
}
}  // namespace

NODE_API_MODULE(psyche_distro_cuda, Init)

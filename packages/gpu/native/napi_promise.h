// Node-API glue shared by the CPU addon (distro_kernels.cc) and the CUDA addon
// (cuda/distro_cuda_addon.cc): the same six JS functions with the same argument checks over a
// backend's host-pointer kernels; every call runs on a libuv worker thread and settles a Promise.
#pragma once
#include <napi.h>

#include <cstdint>
#include <exception>
#include <functional>
#include <vector>

namespace psyche_napi {

// Runs `work` on a libuv thread; keeps the JS buffers alive until it settles.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, std::function<void()> work, const std::vector<Napi::Value>& keep)
      : Napi::AsyncWorker(env, "psyche-distro-kernel"), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)) {
    for (const auto& v : keep) refs_.push_back(Napi::Persistent(v.As<Napi::Object>()));
  }
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      work_();
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void()> work_;
  std::vector<Napi::ObjectReference> refs_;
};

template <typename T>
inline T* Data(const Napi::Value& v) {
  auto arr = v.As<Napi::TypedArray>();
  return reinterpret_cast<T*>(static_cast<uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset());
}

inline size_t Length(const Napi::Value& v) { return v.As<Napi::TypedArray>().ElementLength(); }

// The TypeScript wrapper checks every length and the layout before calling; these checks only
// keep a direct caller from reading out of bounds.
inline void Require(bool ok, const Napi::Env& env, const char* what) {
  if (!ok) throw Napi::RangeError::New(env, what);
}

struct Dims {
  int64_t rows, cols, chunk_rows, chunk_cols;
  int64_t NumChunks() const { return (rows / chunk_rows) * (cols / chunk_cols); }
  int64_t ChunkElems() const { return chunk_rows * chunk_cols; }
};

struct SelectionArg {
  const uint32_t* indices;
  const float* values;
  uint32_t k;
};

// rows, cols, chunkRows, chunkCols at info[at..at+3], checked against a buffer of `size` floats.
inline Dims DimsArg(const Napi::CallbackInfo& info, size_t at, size_t size, const char* what) {
  Dims d{info[at].As<Napi::Number>().Int64Value(), info[at + 1].As<Napi::Number>().Int64Value(), info[at + 2].As<Napi::Number>().Int64Value(),
         info[at + 3].As<Napi::Number>().Int64Value()};
  Require(d.rows > 0 && d.cols > 0 && d.chunk_rows > 0 && d.chunk_cols > 0 && d.rows % d.chunk_rows == 0 && d.cols % d.chunk_cols == 0 &&
              size_t(d.rows * d.cols) == size,
          info.Env(), what);
  return d;
}

inline Napi::Promise Queue(const Napi::CallbackInfo& info, std::function<void()> work, const std::vector<Napi::Value>& keep) {
  auto* w = new PromiseWorker(info.Env(), std::move(work), keep);
  w->Queue();
  return w->Promise();
}

// Exports encode, decode, topk, scatterMean, decayAccumulate, signDescent over Backend's static
// functions: Dct(in, out, dims, inverse), Topk(coefficients, dims, k, indices, values),
// ScatterMean(selections, dims, out), DecayAccumulate(delta, grad, n, decay, lr),
// SignDescent(weights, direction, n, lr), and ChunkSupported(dims) (false → RangeError).
template <class Backend>
void ExportKernels(Napi::Env env, Napi::Object exports) {
  // encode/decode(input, output, rows, cols, chunkRows, chunkCols)
  auto dct = [](const Napi::CallbackInfo& info, bool inverse) -> Napi::Value {
    const Dims d = DimsArg(info, 2, Length(info[0]), "dct: buffer lengths do not match the layout");
    Require(Length(info[1]) == Length(info[0]), info.Env(), "dct: buffer lengths do not match the layout");
    Require(Backend::ChunkSupported(d), info.Env(), "dct: chunk size not supported by these kernels");
    const float* in = Data<float>(info[0]);
    float* out = Data<float>(info[1]);
    return Queue(info, [=] { Backend::Dct(in, out, d, inverse); }, {info[0], info[1]});
  };
  exports.Set("encode", Napi::Function::New(env, [dct](const Napi::CallbackInfo& info) { return dct(info, false); }));
  exports.Set("decode", Napi::Function::New(env, [dct](const Napi::CallbackInfo& info) { return dct(info, true); }));
  // topk(coefficients, rows, cols, chunkRows, chunkCols, k, indices, values)
  exports.Set("topk", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
                const char* what = "topk: buffer lengths do not match the layout and k";
                const Dims d = DimsArg(info, 1, Length(info[0]), what);
                const uint32_t k = info[5].As<Napi::Number>().Uint32Value();
                const size_t expect = size_t(d.NumChunks()) * k;
                Require(k >= 1 && int64_t(k) <= d.ChunkElems() && Length(info[6]) == expect && Length(info[7]) == expect, info.Env(), what);
                const float* in = Data<float>(info[0]);
                uint32_t* idx = Data<uint32_t>(info[6]);
                float* val = Data<float>(info[7]);
                return Queue(info, [=] { Backend::Topk(in, d, k, idx, val); }, {info[0], info[6], info[7]});
              }));
  // scatterMean(indicesArray[], valuesArray[], ks[], output, rows, cols, chunkRows, chunkCols)
  exports.Set("scatterMean", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
                Napi::Env env = info.Env();
                const Dims d = DimsArg(info, 4, Length(info[3]), "scatterMean: output length does not match the layout");
                auto idx_arr = info[0].As<Napi::Array>();
                auto val_arr = info[1].As<Napi::Array>();
                auto k_arr = info[2].As<Napi::Array>();
                std::vector<SelectionArg> selections;
                std::vector<Napi::Value> keep{info[3]};
                for (uint32_t s = 0; s < idx_arr.Length(); s++) {
                  Napi::Value iv = idx_arr.Get(s), vv = val_arr.Get(s);
                  const uint32_t k = k_arr.Get(s).As<Napi::Number>().Uint32Value();
                  const size_t expect = size_t(d.NumChunks()) * k;
                  Require(k >= 1 && int64_t(k) <= d.ChunkElems() && Length(iv) == expect && Length(vv) == expect, env, "scatterMean: selection sizes do not match k");
                  const uint32_t* ip = Data<uint32_t>(iv);
                  for (size_t j = 0; j < expect; j++) Require(int64_t(ip[j]) < d.ChunkElems(), env, "scatterMean: index out of range");
                  selections.push_back(SelectionArg{ip, Data<float>(vv), k});
                  keep.push_back(iv);
                  keep.push_back(vv);
                }
                float* out = Data<float>(info[3]);
                return Queue(info, [=] { Backend::ScatterMean(selections, d, out); }, keep);
              }));
  exports.Set("decayAccumulate", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
                Require(Length(info[0]) == Length(info[1]), info.Env(), "decayAccumulate: lengths differ");
                float* delta = Data<float>(info[0]);
                const float* grad = Data<float>(info[1]);
                const size_t n = Length(info[0]);
                const double decay = info[2].As<Napi::Number>().DoubleValue(), lr = info[3].As<Napi::Number>().DoubleValue();
                return Queue(info, [=] { Backend::DecayAccumulate(delta, grad, n, decay, lr); }, {info[0], info[1]});
              }));
  exports.Set("signDescent", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
                Require(Length(info[0]) == Length(info[1]), info.Env(), "signDescent: lengths differ");
                float* weights = Data<float>(info[0]);
                const float* direction = Data<float>(info[1]);
                const size_t n = Length(info[0]);
                const double lr = info[2].As<Napi::Number>().DoubleValue();
                return Queue(info, [=] { Backend::SignDescent(weights, direction, n, lr); }, {info[0], info[1]});
              }));
}

}  // namespace psyche_napi

// C API of the CUDA DisTrO kernels on host buffers (native/cuda/distro_kernels.cu); used by the Node
// addon (distro_cuda_addon.cc). Every function returns 0 on success; psyche_cuda_error() says why not.
#pragma once
#include <cstddef>
#include <cstdint>

extern "C" {
const char* psyche_cuda_error();
int psyche_cuda_device_count();
int psyche_cuda_device_name(char* out, int capacity);
int psyche_cuda_host_dct(const float* in, float* out, int rows, int cols, int R, int C, int inverse);
int psyche_cuda_host_topk(const float* coeffs, int chunks, int elems, int k, uint32_t* indices, float* values);
int psyche_cuda_host_scatter_mean(const uint32_t* const* indices, const float* const* values, const int* ks, int selections, int chunks, int elems, float* out);
int psyche_cuda_host_decay_accumulate(float* delta, const float* grad, size_t n, double decay, double lr);
int psyche_cuda_host_sign_descent(float* w, const float* d, size_t n, double lr);
}

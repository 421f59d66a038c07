// Automatic mixed precision: libtorch's autocast state per device type, which tch exposes for CUDA
// only (at::autocast::set_enabled is CUDA's). What `torch.autocast(device_type, dtype)` does on
// entering and leaving, for the CPU (bfloat16) and CUDA (float16).
#include <ATen/autocast_mode.h>

#include <cstring>
#include <exception>

extern "C" {
// Enters autocast on `device` (0: CPU, 1: CUDA) with `dtype` (a c10::ScalarType code): returns the
// previous enabled flag (0 or 1) and dtype code in *prev_dtype, or -1 with the message in err.
int sj_autocast_enter(int device, int dtype, int* prev_dtype, char* err, int64_t err_len) {
  try {
    const auto type = device == 1 ? at::kCUDA : at::kCPU;
    const int prev = at::autocast::is_autocast_enabled(type) ? 1 : 0;
    *prev_dtype = static_cast<int>(at::autocast::get_autocast_dtype(type));
    at::autocast::set_autocast_dtype(type, static_cast<at::ScalarType>(dtype));
    at::autocast::set_autocast_enabled(type, true);
    at::autocast::increment_nesting();
    return prev;
  } catch (const std::exception& e) {
    std::strncpy(err, e.what(), err_len - 1);
    err[err_len - 1] = 0;
    return -1;
  }
}

// Leaves autocast on `device`, restoring `prev_enabled` and `prev_dtype`; the cast cache is
// cleared when the outermost autocast region ends. Never throws.
void sj_autocast_exit(int device, int prev_enabled, int prev_dtype) {
  try {
    const auto type = device == 1 ? at::kCUDA : at::kCPU;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_autocast_enabled(type, prev_enabled != 0);
    at::autocast::set_autocast_dtype(type, static_cast<at::ScalarType>(prev_dtype));
  } catch (...) {
  }
}
}

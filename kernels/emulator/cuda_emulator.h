// Host-side stand-ins for the CUDA C++ language features kernels/*.cu use, so the same sources compile
// with g++ into the emulated device (kernels/emulator/README in kernels/README.md, "The emulated device").
// Every CUDA thread of a block runs as a fiber on one OS thread: __syncthreads and the warp shuffles
// suspend the fiber until every thread of the block (or lane of the warp) has arrived, so block
// semantics are real, not assumed. Kernels without a barrier (build.sh finds them with barrier_scan.awk)
// run their threads one after the other without fibers. The device runs one block at a time in the whole
// process (launches hold the device lock), so __shared__ variables are plain statics shared by the threads
// of the running block, and the thread/block indices are plain globals (no thread_local lookups per access).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __shared__ static
#define __restrict__ __restrict

struct uint3 { unsigned int x, y, z; };
struct dim3 { unsigned int x, y, z; };

namespace emu {

struct Fiber { uint3 idx; unsigned linear; }; // linear = x + y·bx + z·bx·by: the lane is linear % 32
extern Fiber* current_fiber;
extern uint3 block_idx;
extern dim3 block_dim;
extern dim3 grid_dim;

void sync_block();                 // __syncthreads
void sync_warp();                  // all lanes of the calling thread's warp
uint64_t* warp_exchange_slots();   // 32 slots of the calling thread's warp

template <typename T>
T shfl_down(unsigned mask, T v, unsigned delta)
{
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffle of an 8-byte-or-smaller value");
    (void)mask; // the kernels shuffle with the full mask; a lane missing from the exchange is reported as divergence
    uint64_t* slots = warp_exchange_slots();
    const unsigned lane = current_fiber->linear & 31u;
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    slots[lane] = bits;
    sync_warp();
    const unsigned src = lane + delta;
    // lanes past the end of the warp (or of a partial last warp) keep their own value, as on the GPU
    const unsigned warpBase = current_fiber->linear & ~31u;
    const bool inside = src < 32 && warpBase + src < block_dim.x * block_dim.y * block_dim.z;
    bits = inside ? slots[src] : bits;
    sync_warp(); // nobody overwrites the slots before every lane has read
    T r;
    std::memcpy(&r, &bits, sizeof(T));
    return r;
}

// Kernel registration: each kernels/<family>.cu is compiled inside a generated wrapper that includes it and
// names every `extern "C" __global__` kernel with EMU_KERNEL; the launcher unpacks the void** parameter
// array exactly as cuLaunchKernel receives it (one pointer per parameter, to a value of the parameter's type).
using Launcher = void (*)(void** params);
void register_kernel(const char* name, Launcher launcher, int parameterCount, bool barriers);

template <typename F, F f> struct KernelLauncher;
template <typename... A, void (*f)(A...)> struct KernelLauncher<void (*)(A...), f>
{
    static void run(void** p) { call(p, std::index_sequence_for<A...>{}); }
    template <std::size_t... I> static void call(void** p, std::index_sequence<I...>)
    {
        f(*static_cast<std::remove_cv_t<A>*>(p[I])...);
    }
    static constexpr int count = sizeof...(A);
};

struct Registrar
{
    Registrar(const char* name, Launcher launcher, int count, bool barriers) { register_kernel(name, launcher, count, barriers); }
};

} // namespace emu

// barriers: 1 when the kernel can reach __syncthreads or a shuffle (then its threads run as fibers).
#define EMU_KERNEL(name, barriers) \
    static ::emu::Registrar emu_registrar_##name(#name, &::emu::KernelLauncher<decltype(&name), &name>::run, \
        ::emu::KernelLauncher<decltype(&name), &name>::count, (barriers) != 0);

#define threadIdx (::emu::current_fiber->idx)
#define blockIdx (::emu::block_idx)
#define blockDim (::emu::block_dim)
#define gridDim (::emu::grid_dim)
#define __syncthreads() ::emu::sync_block()
#define __syncwarp(...) ::emu::sync_warp()
#define __shfl_down_sync(mask, v, delta) ::emu::shfl_down((mask), (v), (delta))

using std::sqrt; using std::log; using std::exp;

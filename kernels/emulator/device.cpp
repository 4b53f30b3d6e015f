// The emulated CUDA device: the driver-API entry points engine/Cuda/CuDriver.cs binds, backed by host
// memory with guard pages and a fiber scheduler that runs kernels/*.cu (compiled for the host) with real
// block semantics. See "The emulated device" in kernels/README.md.
//
// Device memory: every cuMemAlloc is its own mapping [guard page | data pages | guard page] with the
// allocation placed to end at the rear guard page (4-byte aligned), so one float past the end faults;
// the slack before it (and the 0–3 bytes after an odd size) hold canary bytes checked after every
// launch. New memory is filled with 0xFF bytes (NaN as float, −1 as int): reading memory nobody wrote
// shows up. A fault during a launch (caught by a handler installed for that launch only, chaining to the
// previous one otherwise) or a damaged canary makes cuLaunchKernel return CUDA_ERROR_ILLEGAL_ADDRESS.
// Copies and memsets must lie inside one live allocation (else CUDA_ERROR_INVALID_VALUE, as the driver).
// Everything is synchronous: a call returns when its work is done; streams and events only order.
#include "cuda_emulator.h"
#include "fiber.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <csetjmp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <pthread.h>
#include <mutex>
#include <string>
#include <sys/mman.h>
#include <unistd.h>
#include <unordered_map>
#include <vector>

namespace emu {

// One launch at a time in the process (the device lock), so these are plain globals.
Fiber* current_fiber;
uint3 block_idx;
dim3 block_dim;
dim3 grid_dim;

// ---------------------------------------------------------------- errors

enum : int {
    Success = 0, InvalidValue = 1, OutOfMemory = 2, NotInitialized = 3, InvalidContext = 201, InvalidImage = 200,
    InvalidHandle = 400, NotFound = 500, InvalidPtx = 218, IllegalAddress = 700, LaunchOutOfResources = 701,
    LaunchFailed = 719, NoDevice = 100, InvalidDevice = 101, NotSupported = 801
};

std::mutex& device_lock() { static std::mutex m; return m; }
static thread_local std::string last_detail; // the emulator's explanation of the last error on this thread
static thread_local int last_code;

static int fail(int code, std::string detail)
{
    last_detail = std::move(detail);
    last_code = code;
    if (std::getenv("SPIKEENGINE_CUDA_EMULATOR_TRACE")) std::fprintf(stderr, "cuda emulator: %s\n", last_detail.c_str());
    return code;
}

static const char* error_name(int code)
{
    switch (code) {
    case Success: return "CUDA_SUCCESS";
    case InvalidValue: return "CUDA_ERROR_INVALID_VALUE";
    case OutOfMemory: return "CUDA_ERROR_OUT_OF_MEMORY";
    case NotInitialized: return "CUDA_ERROR_NOT_INITIALIZED";
    case NoDevice: return "CUDA_ERROR_NO_DEVICE";
    case InvalidDevice: return "CUDA_ERROR_INVALID_DEVICE";
    case InvalidImage: return "CUDA_ERROR_INVALID_IMAGE";
    case InvalidContext: return "CUDA_ERROR_INVALID_CONTEXT";
    case InvalidPtx: return "CUDA_ERROR_INVALID_PTX";
    case InvalidHandle: return "CUDA_ERROR_INVALID_HANDLE";
    case NotFound: return "CUDA_ERROR_NOT_FOUND";
    case IllegalAddress: return "CUDA_ERROR_ILLEGAL_ADDRESS";
    case LaunchOutOfResources: return "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES";
    case LaunchFailed: return "CUDA_ERROR_LAUNCH_FAILED";
    case NotSupported: return "CUDA_ERROR_NOT_SUPPORTED";
    default: return nullptr;
    }
}

static const char* error_text(int code)
{
    switch (code) {
    case Success: return "no error";
    case InvalidValue: return "invalid argument";
    case OutOfMemory: return "out of memory";
    case NotInitialized: return "initialization error";
    case IllegalAddress: return "an illegal memory access was encountered";
    case LaunchFailed: return "unspecified launch failure";
    case NotFound: return "named symbol not found";
    default: return error_name(code);
    }
}

// ---------------------------------------------------------------- memory

static const size_t page = (size_t)sysconf(_SC_PAGESIZE);
static constexpr unsigned char Canary = 0xA5;
static constexpr size_t TotalBytes = (size_t)8 << 30; // what cuMemGetInfo reports; larger totals fail as OOM

struct Allocation {
    char* mapping; size_t mappingBytes; // [guard | data | guard]
    char* data; size_t dataBytes;       // page-aligned data pages
    char* ptr; size_t bytes;            // what the engine sees: ends within 3 bytes of the rear guard page
};
static std::map<uintptr_t, Allocation> allocations; // by ptr
static size_t allocatedBytes;

static size_t round_up(size_t v, size_t to) { return (v + to - 1) / to * to; }

/// The live allocation holding [address, address + bytes), or null.
static const Allocation* find_allocation(uintptr_t address, size_t bytes)
{
    auto it = allocations.upper_bound(address);
    if (it == allocations.begin()) return nullptr;
    --it;
    const Allocation& a = it->second;
    const uintptr_t begin = (uintptr_t)a.ptr, end = begin + a.bytes;
    if (address < begin || address > end || bytes > end - address) return nullptr;
    return &a;
}

static std::string describe_address(uintptr_t address)
{
    char buf[256];
    for (auto& [key, a] : allocations) {
        const uintptr_t mapBegin = (uintptr_t)a.mapping, mapEnd = mapBegin + a.mappingBytes;
        if (address < mapBegin || address >= mapEnd) continue;
        const uintptr_t begin = (uintptr_t)a.ptr, end = begin + a.bytes;
        if (address >= end) std::snprintf(buf, sizeof buf, "%zu bytes past the end of the %zu-byte allocation at 0x%zx",
            (size_t)(address - end), a.bytes, (size_t)begin);
        else if (address < begin) std::snprintf(buf, sizeof buf, "%zu bytes before the %zu-byte allocation at 0x%zx",
            (size_t)(begin - address), a.bytes, (size_t)begin);
        else std::snprintf(buf, sizeof buf, "inside the %zu-byte allocation at 0x%zx", a.bytes, (size_t)begin);
        return buf;
    }
    std::snprintf(buf, sizeof buf, "0x%zx, outside every allocation", (size_t)address);
    return buf;
}

static bool all_canary(const char* p, size_t n)
{
    for (size_t i = 0; i < n; i++) if ((unsigned char)p[i] != Canary) return false;
    return true;
}

/// Empty when every allocation's slack still holds its canaries; else which allocation was written outside
/// its bounds (and the canaries are restored, so one bug is reported once).
static std::string check_canaries()
{
    std::string damage;
    for (auto& [key, a] : allocations) {
        const size_t front = (size_t)(a.ptr - a.data);
        const size_t backStart = (size_t)(a.ptr - a.data) + a.bytes, back = a.dataBytes - backStart;
        // front slack: check 8 bytes at a time
        bool frontOk = true;
        const uint64_t pattern = 0xA5A5A5A5A5A5A5A5ull;
        size_t i = 0;
        for (; i + 8 <= front; i += 8) { uint64_t v; std::memcpy(&v, a.data + i, 8); if (v != pattern) { frontOk = false; break; } }
        if (frontOk) frontOk = all_canary(a.data + i, front - i);
        const bool backOk = all_canary(a.data + backStart, back);
        if (frontOk && backOk) continue;
        char buf[200];
        std::snprintf(buf, sizeof buf, "%s the %zu-byte allocation at 0x%zx was written", !backOk ? "the bytes just past the end of" :
            "the bytes before", a.bytes, (size_t)(uintptr_t)a.ptr);
        if (damage.empty()) damage = buf;
        std::memset(a.data, Canary, front);
        std::memset(a.data + backStart, Canary, back);
    }
    return damage;
}

static int allocate(uintptr_t* out, size_t bytes)
{
    if (out == nullptr || bytes == 0) return fail(InvalidValue, "cuMemAlloc of 0 bytes");
    if (bytes > TotalBytes - allocatedBytes) return fail(OutOfMemory, "emulated device memory exhausted");
    const size_t span = round_up(bytes, 4), dataBytes = round_up(span, page), mappingBytes = dataBytes + 2 * page;
    void* m = mmap(nullptr, mappingBytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) return fail(OutOfMemory, "mmap failed");
    char* mapping = (char*)m;
    char* data = mapping + page;
    if (mprotect(data, dataBytes, PROT_READ | PROT_WRITE) != 0) { munmap(m, mappingBytes); return fail(OutOfMemory, "mprotect failed"); }
    char* ptr = data + dataBytes - span;
    std::memset(data, Canary, (size_t)(ptr - data));
    std::memset(ptr, 0xFF, bytes);
    std::memset(ptr + bytes, Canary, span - bytes);
    allocations[(uintptr_t)ptr] = Allocation{mapping, mappingBytes, data, dataBytes, ptr, bytes};
    allocatedBytes += bytes;
    *out = (uintptr_t)ptr;
    return Success;
}

static int release(uintptr_t ptr)
{
    auto it = allocations.find(ptr);
    if (it == allocations.end()) return fail(InvalidValue, "cuMemFree of an address that is not a live allocation");
    allocatedBytes -= it->second.bytes;
    munmap(it->second.mapping, it->second.mappingBytes);
    allocations.erase(it);
    return Success;
}

bool device_range(uintptr_t address, size_t bytes) { return find_allocation(address, bytes) != nullptr; }
void set_detail(int code, const std::string& detail) { fail(code, detail); }

// ---------------------------------------------------------------- kernels and modules

struct Kernel { Launcher launcher; int parameters; bool barriers; };
static std::unordered_map<std::string, Kernel>& registry() { static std::unordered_map<std::string, Kernel> r; return r; }

void register_kernel(const char* name, Launcher launcher, int parameterCount, bool barriers)
{
    registry()[name] = Kernel{launcher, parameterCount, barriers};
}

struct Module { std::vector<std::string> entries; };
struct Function { std::string name; Kernel kernel; };

/// The `.entry` names a PTX text declares.
static std::vector<std::string> ptx_entries(const char* ptx)
{
    std::vector<std::string> names;
    const std::string text(ptx);
    size_t at = 0;
    while ((at = text.find(".entry", at)) != std::string::npos) {
        at += 6;
        size_t b = at;
        while (b < text.size() && (text[b] == ' ' || text[b] == '\t')) b++;
        size_t e = b;
        while (e < text.size() && (std::isalnum((unsigned char)text[e]) || text[e] == '_' || text[e] == '$')) e++;
        if (e > b && b > at) names.push_back(text.substr(b, e - b));
    }
    return names;
}

// ---------------------------------------------------------------- the block scheduler

enum class State { Ready, AtBlockBarrier, AtWarpBarrier, Done };

struct Thread : Fiber { void* sp; State state; };

struct BlockRun {
    Launcher launcher; void** params; bool direct; // direct: a barrier-free kernel, threads run without fibers
    std::vector<Thread> threads;
    std::vector<uint64_t> slots; // 32 per warp
    void* schedulerSp;
    FiberStacks stacks;
};
static BlockRun* run;

[[noreturn]] static void fiber_main()
{
    Thread* self = static_cast<Thread*>(current_fiber);
    run->launcher(run->params);
    self->state = State::Done;
    fiber_switch(&self->sp, run->schedulerSp);
    __builtin_unreachable();
}

[[noreturn]] static void barrier_in_direct_mode();

static void suspend(State why)
{
    if (run->direct) barrier_in_direct_mode();
    Thread* self = static_cast<Thread*>(current_fiber);
    self->state = why;
    fiber_switch(&self->sp, run->schedulerSp);
}

void sync_block() { suspend(State::AtBlockBarrier); }
void sync_warp() { suspend(State::AtWarpBarrier); }
uint64_t* warp_exchange_slots() { return run->slots.data() + (current_fiber->linear / 32) * 32; }

static void resume(Thread& t)
{
    current_fiber = &t;
    t.state = State::Ready; // until it says otherwise
    fiber_switch(&run->schedulerSp, t.sp);
}

/// Runs one block to completion. Returns false (with last_detail set) when its threads cannot all proceed:
/// a warp whose lanes do not all reach the same shuffle.
static bool run_block(unsigned count)
{
    auto& threads = run->threads;
    if (run->direct) {
        for (unsigned i = 0; i < count; i++) {
            Thread& t = threads[i];
            t.linear = i;
            t.idx = uint3{i % block_dim.x, (i / block_dim.x) % block_dim.y, i / (block_dim.x * block_dim.y)};
            current_fiber = &t;
            run->launcher(run->params);
        }
        return true;
    }
    for (unsigned i = 0; i < count; i++) {
        Thread& t = threads[i];
        t.linear = i;
        t.idx = uint3{i % block_dim.x, (i / block_dim.x) % block_dim.y, i / (block_dim.x * block_dim.y)};
        t.sp = run->stacks.start(i, &fiber_main);
        t.state = State::Ready;
    }
    for (;;) {
        // Each warp runs until all its lanes wait at __syncthreads or have finished; a warp barrier
        // (shuffle) releases once every live lane of the warp has reached it.
        for (unsigned w = 0; w * 32 < count; w++) {
            const unsigned lo = w * 32, hi = std::min(count, lo + 32);
            for (;;) {
                for (unsigned i = lo; i < hi; i++) if (threads[i].state == State::Ready) resume(threads[i]);
                unsigned atWarp = 0, live = 0;
                for (unsigned i = lo; i < hi; i++) {
                    if (threads[i].state == State::AtWarpBarrier) atWarp++;
                    if (threads[i].state != State::Done) live++;
                }
                if (atWarp == 0) break;
                if (atWarp != hi - lo) {
                    char buf[200];
                    std::snprintf(buf, sizeof buf, "block %u: %u of the %u lanes of warp %u reached a warp shuffle, the others %s",
                        block_idx.x, atWarp, hi - lo, w, live == atWarp ? "had exited" : "wait at __syncthreads");
                    last_detail = buf;
                    return false;
                }
                for (unsigned i = lo; i < hi; i++) threads[i].state = State::Ready;
            }
        }
        bool waiting = false;
        for (unsigned i = 0; i < count; i++)
            if (threads[i].state == State::AtBlockBarrier) { threads[i].state = State::Ready; waiting = true; }
        if (!waiting) return true; // all done (threads that exited early do not hold a barrier, as on sm_70+)
    }
}

// ---------------------------------------------------------------- fault handling during a launch

// The launching thread is recorded so that a fault on any other thread (.NET's own) goes to the previous handler.
static sigjmp_buf* launch_escape;
static volatile sig_atomic_t in_launch;
static pthread_t launch_thread;
static void* volatile fault_address;
static constexpr int BarrierEscape = 1 << 20; // siglongjmp value: a barrier in a kernel classed barrier-free
static struct sigaction previous_segv, previous_bus, previous_fpe;

static void chain(int sig, siginfo_t* info, void* context)
{
    const struct sigaction& prev = sig == SIGSEGV ? previous_segv : sig == SIGBUS ? previous_bus : previous_fpe;
    if (prev.sa_flags & SA_SIGINFO) { if (prev.sa_sigaction) prev.sa_sigaction(sig, info, context); return; }
    if (prev.sa_handler == SIG_IGN) return;
    if (prev.sa_handler == SIG_DFL) { signal(sig, SIG_DFL); raise(sig); return; }
    prev.sa_handler(sig);
}

static void on_fault(int sig, siginfo_t* info, void* context)
{
    if (in_launch && launch_escape != nullptr && pthread_equal(launch_thread, pthread_self())) {
        fault_address = info->si_addr;
        in_launch = 0;
        siglongjmp(*launch_escape, sig);
    }
    chain(sig, info, context); // another thread (e.g. .NET's own null-reference handling)
}

struct FaultHandlers {
    FaultHandlers()
    {
        struct sigaction sa {};
        sa.sa_sigaction = &on_fault;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGSEGV, &sa, &previous_segv);
        sigaction(SIGBUS, &sa, &previous_bus);
        sigaction(SIGFPE, &sa, &previous_fpe);
    }
    ~FaultHandlers()
    {
        sigaction(SIGSEGV, &previous_segv, nullptr);
        sigaction(SIGBUS, &previous_bus, nullptr);
        sigaction(SIGFPE, &previous_fpe, nullptr);
    }
};

static void barrier_in_direct_mode()
{
    in_launch = 0;
    siglongjmp(*launch_escape, BarrierEscape);
}

static int launch(const Function& f, dim3 grid, dim3 block, void** params)
{
    const unsigned count = block.x * block.y * block.z;
    static BlockRun state;
    run = &state;
    state.direct = !f.kernel.barriers;
    state.launcher = f.kernel.launcher;
    state.params = params;
    if (state.threads.size() < count) state.threads.resize(count);
    state.slots.assign(round_up(count, 32), 0);
    if (!state.direct) state.stacks.reserve(count);
    grid_dim = grid;
    block_dim = block;

    sigjmp_buf escape;
    int result = Success;
    {
        FaultHandlers handlers;
        launch_escape = &escape;
        launch_thread = pthread_self();
        const int sig = sigsetjmp(escape, 1);
        if (sig == 0) {
            in_launch = 1;
            for (unsigned z = 0; z < grid.z && result == Success; z++)
                for (unsigned y = 0; y < grid.y && result == Success; y++)
                    for (unsigned x = 0; x < grid.x && result == Success; x++) {
                        block_idx = uint3{x, y, z};
                        if (!run_block(count)) result = fail(LaunchFailed, "kernel " + f.name + ": " + last_detail);
                    }
            in_launch = 0;
        } else {
            const uintptr_t where = (uintptr_t)fault_address;
            if (sig == BarrierEscape) result = fail(LaunchFailed, "kernel " + f.name + " reached a barrier, but kernels/emulator/barrier_scan.awk " +
                "classed it barrier-free (fix the scan)");
            else if (sig == SIGFPE) result = fail(LaunchFailed, "kernel " + f.name + ": arithmetic exception (integer division by zero?) in block " +
                std::to_string(block_idx.x));
            else result = fail(IllegalAddress, "kernel " + f.name + " (block " + std::to_string(block_idx.x) + ") touched " + describe_address(where));
        }
        launch_escape = nullptr;
    }
    current_fiber = nullptr;
    run = nullptr;
    const std::string damage = check_canaries();
    if (result == Success && !damage.empty()) result = fail(IllegalAddress, "kernel " + f.name + ": " + damage);
    return result;
}

// ---------------------------------------------------------------- handles

struct Context { int device; };
static Context primary{0};
static bool initialised;
struct Stream { int id; };
struct Event { std::chrono::steady_clock::time_point at; bool recorded; };

} // namespace emu

using namespace emu;

#define EXPORT extern "C" __attribute__((visibility("default")))
#define LOCKED std::lock_guard<std::mutex> guard(device_lock())

EXPORT int cuInit(unsigned flags) { LOCKED; if (flags != 0) return fail(InvalidValue, "cuInit flags must be 0"); initialised = true; return Success; }
EXPORT int cuDriverGetVersion(int* v) { if (!v) return InvalidValue; *v = 13000; return Success; }
EXPORT int cuDeviceGetCount(int* n) { if (!initialised) return NotInitialized; if (!n) return InvalidValue; *n = 1; return Success; }
EXPORT int cuDeviceGet(int* d, int ordinal) { if (!initialised) return NotInitialized; if (!d) return InvalidValue; if (ordinal != 0) return InvalidDevice; *d = 0; return Success; }
EXPORT int cuDeviceGetName(char* name, int length, int device)
{
    if (device != 0) return InvalidDevice;
    if (!name || length <= 0) return InvalidValue;
    std::snprintf(name, (size_t)length, "%s", "SpikeEngine CUDA emulator (CPU)");
    return Success;
}
EXPORT int cuDeviceGetAttribute(int* value, int attribute, int device)
{
    if (device != 0) return InvalidDevice;
    if (!value) return InvalidValue;
    switch (attribute) {
    case 1: *value = 1024; return Success; // max threads per block
    case 16: *value = 1; return Success;   // multiprocessors
    case 75: *value = 8; return Success;   // compute capability 8.0 (the PTX target)
    case 76: *value = 0; return Success;
    default: return fail(InvalidValue, "cuDeviceGetAttribute: attribute " + std::to_string(attribute) + " is not emulated");
    }
}
EXPORT int cuDeviceTotalMem_v2(size_t* bytes, int device) { if (device != 0) return InvalidDevice; if (!bytes) return InvalidValue; *bytes = TotalBytes; return Success; }
EXPORT int cuDevicePrimaryCtxRetain(void** ctx, int device) { if (device != 0) return InvalidDevice; if (!ctx) return InvalidValue; *ctx = &primary; return Success; }
EXPORT int cuDevicePrimaryCtxRelease_v2(int device) { return device == 0 ? Success : InvalidDevice; }
EXPORT int cuCtxSetCurrent(void* ctx) { return ctx == nullptr || ctx == &primary ? Success : InvalidContext; }
EXPORT int cuCtxSynchronize() { return Success; }
EXPORT int cuMemGetInfo_v2(size_t* free, size_t* total)
{
    LOCKED;
    if (!free || !total) return InvalidValue;
    *total = TotalBytes; *free = TotalBytes - allocatedBytes;
    return Success;
}
EXPORT int cuMemAlloc_v2(uintptr_t* p, size_t bytes) { LOCKED; return allocate(p, bytes); }
EXPORT int cuMemFree_v2(uintptr_t p) { LOCKED; return release(p); }

static int check_range(const char* call, uintptr_t address, size_t bytes)
{
    if (find_allocation(address, bytes)) return Success;
    return fail(InvalidValue, std::string(call) + ": [0x" + [&] { char b[32]; std::snprintf(b, 32, "%zx", (size_t)address); return std::string(b); }() +
        ", +" + std::to_string(bytes) + " bytes) is not inside one live allocation (" + describe_address(address) + ")");
}

EXPORT int cuMemcpyHtoDAsync_v2(uintptr_t dst, const void* src, size_t bytes, void*)
{
    LOCKED;
    if (int r = check_range("cuMemcpyHtoD", dst, bytes)) return r;
    std::memcpy((void*)dst, src, bytes);
    return Success;
}
EXPORT int cuMemcpyDtoHAsync_v2(void* dst, uintptr_t src, size_t bytes, void*)
{
    LOCKED;
    if (int r = check_range("cuMemcpyDtoH", src, bytes)) return r;
    std::memcpy(dst, (const void*)src, bytes);
    return Success;
}
EXPORT int cuMemcpyDtoDAsync_v2(uintptr_t dst, uintptr_t src, size_t bytes, void*)
{
    LOCKED;
    if (int r = check_range("cuMemcpyDtoD (source)", src, bytes)) return r;
    if (int r = check_range("cuMemcpyDtoD (destination)", dst, bytes)) return r;
    std::memmove((void*)dst, (const void*)src, bytes);
    return Success;
}
EXPORT int cuMemsetD32Async(uintptr_t dst, unsigned value, size_t count, void*)
{
    LOCKED;
    if (dst % 4 != 0) return fail(InvalidValue, "cuMemsetD32: address not 4-byte aligned");
    if (int r = check_range("cuMemsetD32", dst, count * 4)) return r;
    unsigned* p = (unsigned*)dst;
    for (size_t i = 0; i < count; i++) p[i] = value;
    return Success;
}
EXPORT int cuStreamCreate(void** stream, unsigned) { if (!stream) return InvalidValue; *stream = new Stream{1}; return Success; }
EXPORT int cuStreamDestroy_v2(void* stream) { delete (Stream*)stream; return Success; }
EXPORT int cuStreamSynchronize(void*) { return Success; }

static int load_module(void** module, const char* image, std::string* log)
{
    if (!module || !image) return InvalidValue;
    if (std::strstr(image, ".version") == nullptr || std::strstr(image, ".target") == nullptr) {
        *log = "not PTX text (the emulator loads only the PTX that build.cuda.sh writes)";
        return fail(InvalidImage, *log);
    }
    auto entries = ptx_entries(image);
    for (auto& e : entries)
        if (!registry().count(e)) {
            *log = "kernel " + e + " is in the PTX but not in the emulator library: rebuild it (kernels/emulator/build.sh)";
            return fail(InvalidPtx, *log);
        }
    *module = new Module{std::move(entries)};
    return Success;
}

EXPORT int cuModuleLoadData(void** module, const char* image) { LOCKED; std::string log; return load_module(module, image, &log); }
EXPORT int cuModuleLoadDataEx(void** module, const char* image, unsigned n, int* options, void** values)
{
    LOCKED;
    std::string log;
    const int r = load_module(module, image, &log);
    char* buffer = nullptr; size_t size = 0;
    for (unsigned i = 0; i < n; i++) {
        if (options[i] == 5) buffer = (char*)values[i];            // CU_JIT_ERROR_LOG_BUFFER
        if (options[i] == 6) size = (size_t)(uintptr_t)values[i];   // CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES
    }
    if (buffer && size > 0) std::snprintf(buffer, size, "%s", r == Success ? "" : log.c_str());
    return r;
}
EXPORT int cuModuleUnload(void* module) { LOCKED; delete (Module*)module; return Success; }
EXPORT int cuModuleGetFunction(void** function, void* module, const char* name)
{
    LOCKED;
    if (!function || !module || !name) return InvalidValue;
    auto& entries = ((Module*)module)->entries;
    if (std::find(entries.begin(), entries.end(), name) == entries.end())
        return fail(NotFound, std::string("kernel ") + name + " is not in this module's PTX");
    *function = new Function{name, registry().at(name)};
    return Success;
}
EXPORT int cuLaunchKernel(void* function, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
    unsigned sharedBytes, void*, void** params, void** extra)
{
    LOCKED;
    if (!function) return InvalidHandle;
    auto& f = *(Function*)function;
    if (gx == 0 || gy == 0 || gz == 0 || bx == 0 || by == 0 || bz == 0)
        return fail(InvalidValue, "cuLaunchKernel(" + f.name + "): a grid or block dimension is 0");
    if ((unsigned long long)bx * by * bz > 1024) return fail(InvalidValue, "cuLaunchKernel(" + f.name + "): more than 1024 threads per block");
    if (sharedBytes != 0) return fail(NotSupported, "cuLaunchKernel(" + f.name + "): dynamic shared memory is not emulated");
    if (extra != nullptr) return fail(NotSupported, "cuLaunchKernel(" + f.name + "): the extra argument is not emulated");
    if (params == nullptr && f.kernel.parameters > 0) return fail(InvalidValue, "cuLaunchKernel(" + f.name + "): no parameters");
    return launch(f, dim3{gx, gy, gz}, dim3{bx, by, bz}, params);
}
EXPORT int cuEventCreate(void** e, unsigned) { if (!e) return InvalidValue; *e = new Event{{}, false}; return Success; }
EXPORT int cuEventDestroy_v2(void* e) { delete (Event*)e; return Success; }
EXPORT int cuEventRecord(void* e, void*) { if (!e) return InvalidHandle; ((Event*)e)->at = std::chrono::steady_clock::now(); ((Event*)e)->recorded = true; return Success; }
EXPORT int cuEventSynchronize(void* e) { return e ? Success : InvalidHandle; }
EXPORT int cuEventElapsedTime(float* ms, void* a, void* b)
{
    if (!ms || !a || !b) return InvalidValue;
    auto* s = (Event*)a; auto* t = (Event*)b;
    if (!s->recorded || !t->recorded) return InvalidHandle;
    *ms = std::chrono::duration<float, std::milli>(t->at - s->at).count();
    return Success;
}
EXPORT int cuGetErrorName(int code, const char** name)
{
    if (!name) return InvalidValue;
    *name = error_name(code);
    return *name ? Success : InvalidValue;
}
EXPORT int cuGetErrorString(int code, const char** text)
{
    if (!text) return InvalidValue;
    static thread_local std::string described;
    const char* base = error_text(code);
    if (!base) return InvalidValue;
    described = std::string(base) + (code != last_code || last_detail.empty() ? "" : " (emulator: " + last_detail + ")");
    *text = described.c_str();
    return Success;
}

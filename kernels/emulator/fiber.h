// Minimal fibers for the block scheduler: a stack per CUDA thread of a block and a switch that saves only
// what the calling convention requires (x86-64: callee-saved registers, MXCSR and the x87 control word;
// no signal-mask system call as swapcontext makes, which would dominate a launch of a million threads).
// Other architectures use ucontext.
#pragma once
#include <cstddef>
#include <new>
#include <cstdint>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__x86_64__)
extern "C" void emu_fiber_switch(void** save, void* to);
inline void fiber_switch(void** save, void* to) { emu_fiber_switch(save, to); }
#else
#include <ucontext.h>
inline void fiber_switch(void** save, void* to)
{
    ucontext_t here;
    *save = &here;
    swapcontext(&here, static_cast<ucontext_t*>(to));
}
#endif

namespace emu {

/// Stacks for the threads of one block (kept and reused by every later block on this OS thread), each
/// with a PROT_NONE page below it so a runaway recursion faults instead of corrupting a neighbour.
class FiberStacks
{
public:
    static constexpr size_t StackBytes = 64 * 1024;

    void reserve(unsigned count)
    {
        if (count <= count_) return;
        release();
        page_ = (size_t)sysconf(_SC_PAGESIZE);
        stride_ = StackBytes + page_;
        void* m = mmap(nullptr, stride_ * count, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED) throw std::bad_alloc();
        base_ = static_cast<char*>(m);
        for (unsigned i = 0; i < count; i++) mprotect(base_ + i * stride_, page_, PROT_NONE);
        count_ = count;
#if !defined(__x86_64__)
        contexts_ = new ucontext_t[count];
#endif
    }

    /// A fresh frame on stack i that enters `entry` when switched to; returns what fiber_switch takes.
    void* start(unsigned i, void (*entry)())
    {
        char* top = base_ + (size_t)(i + 1) * stride_; // 16-byte aligned (page-aligned)
#if defined(__x86_64__)
        uint64_t* sp = reinterpret_cast<uint64_t*>(top);
        *--sp = 0;                               // fake return address of entry (never returns)
        *--sp = reinterpret_cast<uint64_t>(entry); // popped by ret in the switch
        for (int r = 0; r < 6; r++) *--sp = 0;   // rbp rbx r12 r13 r14 r15
        *--sp = 0x037F00001F80ull;               // MXCSR default (low 4 bytes), x87 control word default (next 2)
        return sp;
#else
        ucontext_t* c = &contexts_[i];
        getcontext(c);
        c->uc_stack.ss_sp = base_ + (size_t)i * stride_ + page_;
        c->uc_stack.ss_size = StackBytes;
        c->uc_link = nullptr;
        makecontext(c, entry, 0);
        return c;
#endif
    }

    ~FiberStacks() { release(); }

private:
    void release()
    {
        if (base_) munmap(base_, stride_ * count_);
        base_ = nullptr; count_ = 0;
#if !defined(__x86_64__)
        delete[] contexts_; contexts_ = nullptr;
#endif
    }
    char* base_ = nullptr;
    size_t page_ = 0, stride_ = 0;
    unsigned count_ = 0;
#if !defined(__x86_64__)
    ucontext_t* contexts_ = nullptr;
#endif
};

} // namespace emu

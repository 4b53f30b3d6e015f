# emu_fiber_switch(void** save, void* to): saves the callee-saved state of the running fiber on its stack,
# stores its stack pointer in *save and continues the fiber whose saved stack pointer is `to`
# (layout from the top: return address, rbp, rbx, r12–r15, MXCSR + x87 control word; see fiber.h).
#if defined(__x86_64__)
    .text
    .globl emu_fiber_switch
    .type emu_fiber_switch, @function
emu_fiber_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size emu_fiber_switch, .-emu_fiber_switch
#endif
    .section .note.GNU-stack,"",@progbits

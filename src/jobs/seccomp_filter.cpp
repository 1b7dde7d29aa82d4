#include "jobs/seccomp_filter.h"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <sys/syscall.h>

#include <cerrno>
#include <iterator>

namespace swan::jobs {
namespace {

#if defined(__x86_64__)
constexpr unsigned kNativeArch = AUDIT_ARCH_X86_64;
constexpr unsigned kX32Bit = 0x40000000;  // __X32_SYSCALL_BIT
#elif defined(__aarch64__)
constexpr unsigned kNativeArch = AUDIT_ARCH_AARCH64;
constexpr unsigned kX32Bit = 0;
#endif

#if defined(__x86_64__) || defined(__aarch64__)
constexpr unsigned kArchOffset = offsetof(seccomp_data, arch);
constexpr unsigned kNrOffset = offsetof(seccomp_data, nr);
// The low 32 bits of the first argument (little-endian): where clone and unshare take the flags.
constexpr unsigned kArg0Offset = offsetof(seccomp_data, args);

#ifndef SYS_clone3
#define SYS_clone3 435
#endif

// Jump offsets count the instructions to skip after the current one.
const sock_filter kProgram[] = {
    /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kArchOffset),
    /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kNativeArch, 0, 9),  // other ABI -> 11 (EPERM)
    /* 2 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kNrOffset),
    /* 3 */ BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, kX32Bit == 0 ? 0xFFFFFFFFu : kX32Bit, 7, 0),
    /* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 5, 0),   // -> 10 (ENOSYS)
    /* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 1, 0),    // -> 7
    /* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_unshare, 0, 2),  // no -> 9 (allow)
    /* 7 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kArg0Offset),
    /* 8 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NEWUSER, 2, 0),  // -> 11 (EPERM)
    /* 9 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    /* 10 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
    /* 11 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
};

const sock_fprog kFilter = {static_cast<unsigned short>(std::size(kProgram)),
                            const_cast<sock_filter*>(kProgram)};
#endif

}  // namespace

const sock_fprog* NoUserNamespacesFilter() {
#if defined(__x86_64__) || defined(__aarch64__)
  return &kFilter;
#else
  return nullptr;
#endif
}

}  // namespace swan::jobs

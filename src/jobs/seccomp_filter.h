// A seccomp filter that stops a process and everything it starts from creating user namespaces
// (clone or unshare with CLONE_NEWUSER fail with EPERM; clone3, whose flags a filter cannot read,
// fails with ENOSYS, so libc falls back to clone). It is what bwrap's --disable-userns gives inside
// a user namespace, for the sandbox of a root server, which has none. Everything else is allowed.
// Syscalls of another ABI than the server's own (32-bit x86, x32) fail with EPERM.
#pragma once

#include <linux/filter.h>

namespace swan::jobs {

// The compiled program, built once; valid for the life of the process. Install it with
// prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, program) (async-signal-safe: usable after fork).
// Null on an architecture the filter does not know.
const sock_fprog* NoUserNamespacesFilter();

}  // namespace swan::jobs

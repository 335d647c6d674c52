/**
 * The seccomp filter of a sandboxed RUN step: Docker's default profile (the one BuildKit applies), as
 * polyarch's own data. Everything not listed fails with EPERM; a rule that depends on a capability holds
 * only when the step has it, decided here when the spec is written (as moby does), so runc gets a plain
 * list. The filter works on host syscalls: an emulated step's QEMU makes host calls for the guest, so the
 * host architecture decides, never the step's platform.
 *
 * Facts from moby's profiles/seccomp/default.json and containerd's contrib/seccomp (read, not copied).
 */

export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: "SCMP_CMP_EQ" | "SCMP_CMP_NE" | "SCMP_CMP_MASKED_EQ";
}

export interface SeccompSyscall {
  names: string[];
  action: "SCMP_ACT_ALLOW" | "SCMP_ACT_ERRNO";
  errnoRet?: number;
  args?: SeccompArg[];
}

/** runtime-spec `linux.seccomp`. */
export interface SeccompProfile {
  defaultAction: "SCMP_ACT_ERRNO";
  defaultErrnoRet: number;
  architectures: string[];
  syscalls: SeccompSyscall[];
}

const EPERM = 1;
const ENOSYS = 38;

/** Calls every step may make: files, memory, signals, time, sockets, processes without new namespaces. */
const allowed = `
accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown chown32 clock_adjtime
clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep
clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2 dup3 epoll_create
epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2
execve execveat exit exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir
fchmod fchmodat fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr flock fork
fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex
futex_time64 futex_waitv futimesat getcpu getcwd getdents getdents64 getegid getegid32 geteuid geteuid32
getgid getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid getppid getpriority
getrandom getresgid getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage getsid
getsockname getsockopt get_thread_area gettid gettimeofday getuid getuid32 getxattr inotify_add_watch
inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy io_getevents io_pgetevents
io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit io_uring_enter io_uring_register
io_uring_setup ipc kill landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown lchown32
lgetxattr link linkat listen listxattr llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64
madvise membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap
mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend
mq_timedsend_time64 mq_unlink mremap msgctl msgget msgrcv msgsnd msync munlock munlockall munmap
name_to_handle_at nanosleep newfstatat _newselect open openat openat2 pause pidfd_open pidfd_send_signal
pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2
prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64 pwritev pwritev2 read readahead readlink
readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr rename
renameat renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo
rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity
sched_getattr sched_getparam sched_get_priority_max sched_get_priority_min sched_getscheduler
sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam
sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop semtimedop_time64 send
sendfile sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32
setgroups setgroups32 setitimer setpgid setpriority setregid setregid32 setresgid setresgid32 setresuid
setresuid32 setreuid setreuid32 setrlimit set_robust_list setsid setsockopt set_thread_area
set_tid_address setuid setuid32 setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd
signalfd4 sigprocmask sigreturn socketcall socketpair splice stat stat64 statfs statfs64 statx symlink
symlinkat sync sync_file_range syncfs sysinfo tee tgkill time timer_create timer_delete timer_getoverrun
timer_gettime timer_gettime64 timer_settime timer_settime64 timerfd_create timerfd_gettime
timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask
uname unlink unlinkat utime utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write
writev
`;

/** Calls allowed only on some host architectures (polyarch's names: amd64, arm64, arm). */
const byArch: Record<string, string> = {
  amd64: "arch_prctl modify_ldt",
  arm64: "arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls",
  arm: "arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls",
};

/** Calls a capability unlocks: the privilege they need is the capability's anyway. */
const byCapability: Record<string, string> = {
  CAP_DAC_READ_SEARCH: "open_by_handle_at",
  CAP_SYS_ADMIN:
    "bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount mount_setattr move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname sethostname setns syslog umount umount2 unshare",
  CAP_SYS_BOOT: "reboot",
  CAP_SYS_CHROOT: "chroot",
  CAP_SYS_MODULE: "delete_module init_module finit_module",
  CAP_SYS_PACCT: "acct",
  CAP_SYS_PTRACE: "kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace",
  CAP_SYS_RAWIO: "iopl ioperm",
  CAP_SYS_TIME: "settimeofday stime clock_settime clock_settime64",
  CAP_SYS_TTY_CONFIG: "vhangup",
  CAP_SYS_NICE: "get_mempolicy mbind set_mempolicy set_mempolicy_home_node",
  CAP_SYSLOG: "syslog",
  CAP_BPF: "bpf",
  CAP_PERFMON: "perf_event_open",
};

/** The seccomp architectures a host filters: its own and the compat ABIs its kernel runs. */
const architectures: Record<string, string[]> = {
  amd64: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  arm64: ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
  arm: ["SCMP_ARCH_ARM"],
};

/** The clone flags that make namespaces (CLONE_NEWNS…CLONE_NEWNET, CLONE_NEWCGROUP): 0x7E020000. */
const namespaceCloneFlags = 0x7e020000;

/** AF_VSOCK sockets reach the hypervisor's host, not the network. */
const AF_VSOCK = 40;

/** personality() values a step may set: Linux, its 32-bit variant, and the query (0xffffffff). */
const personalities = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

const words = (s: string) => s.split(/\s+/).filter(Boolean);

/** Node's process.arch as polyarch names architectures. */
export function hostSeccompArch(nodeArch: string = process.arch): string {
  return nodeArch === "x64" ? "amd64" : nodeArch;
}

/**
 * The default profile for a step on `arch` (the host's) holding `capabilities`. Undefined for an
 * architecture the profile has no list for: such a host runs steps without a filter rather than not at all.
 */
export function defaultSeccompProfile(
  capabilities: readonly string[],
  arch: string = hostSeccompArch(),
): SeccompProfile | undefined {
  const arches = architectures[arch];
  if (!arches) return undefined;
  const has = new Set(capabilities);
  const names = new Set([...words(allowed), ...words(byArch[arch] ?? "")]);
  // ptrace and process_vm_* on kernels from 4.8 on, where seccomp can no longer be bypassed with them.
  for (const n of ["process_vm_readv", "process_vm_writev", "ptrace"]) names.add(n);
  for (const [cap, list] of Object.entries(byCapability))
    if (has.has(cap)) for (const n of words(list)) names.add(n);
  const syscalls: SeccompSyscall[] = [
    { names: [...names].sort(), action: "SCMP_ACT_ALLOW" },
    { names: ["socket"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: AF_VSOCK, op: "SCMP_CMP_NE" }] },
    ...personalities.map(
      (value): SeccompSyscall => ({
        names: ["personality"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 0, value, op: "SCMP_CMP_EQ" }],
      }),
    ),
  ];
  if (!has.has("CAP_SYS_ADMIN")) {
    // Threads and processes, but no new namespaces; clone3 cannot be inspected, so libc falls back to clone.
    syscalls.push(
      {
        names: ["clone"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 0, value: namespaceCloneFlags, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
      },
      { names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS },
    );
  }
  return { defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: EPERM, architectures: [...arches], syscalls };
}

/*
 * proc.h — child processes on the bot's libev loop (proc.c): the QR decoder (zbarimg)
 * and the dashboard's workers (qunbot dashboard-answer) use it, so slow or risky work never
 * runs on the loop.
 *
 * The child always runs a program (fork + exec, never a function in a forked copy of the bot:
 * SQLite's per-process state must not cross fork). It gets stdin from /dev/null, stdout on a
 * pipe the loop reads (at most max_out bytes kept), stderr kept the same way or sent to
 * /dev/null, its own process group, default signal handling, no inherited descriptors beyond
 * 0-2 (whatever they are, regular files included), and the limits in struct qb_proc_opts.
 * Core-internal: plugins do not include this. No threads; nothing blocks the loop except the
 * fork itself, the moment until exec, and reaping a child just SIGKILLed by qb_proc_cancel.
 */
#ifndef QB_PROC_H
#define QB_PROC_H

#include <ev.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

#define QB_PROC_OUT_DEFAULT ((size_t)1024 * 1024) /* stdout kept when max_out is 0 */
#define QB_PROC_LOST                                                                               \
    INT_MIN /* status: the child was reaped elsewhere (SIGCHLD ignored,                            \
             * or another loop's child watcher took it) */

struct qb_proc;

/* Zero-initialise, then set what you need; every 0 means "no limit / the default". */
struct qb_proc_opts {
    double timeout_s;  /* after this the whole process group is SIGKILLed; 0 = no deadline */
    size_t max_out;    /* stdout bytes kept, the rest read and dropped; 0 = QB_PROC_OUT_DEFAULT */
    size_t max_err;    /* stderr bytes kept the same way; 0 = stderr goes to /dev/null */
    rlim_t mem_limit;  /* RLIMIT_AS in bytes; 0 = inherited */
    rlim_t cpu_s;      /* RLIMIT_CPU in seconds; 0 = inherited. Core dumps are always off. */
    char *const *envp; /* the program's environment; NULL = the bot's own. Borrowed (only
                        * read inside qb_proc_start). */
};

struct qb_proc_result {
    int status;      /* exit code >= 0, -signal number if killed by a signal, or QB_PROC_LOST */
    bool timed_out;  /* the deadline passed before the child exited and closed its output: the
                      * group was killed (status is then usually -SIGKILL) */
    bool truncated;  /* stdout was longer than max_out: out holds its first max_out bytes */
    const char *out; /* stdout, NUL-terminated (may contain NULs); never NULL. Borrowed for
                      * the callback only. */
    size_t len;
    const char *err; /* stderr kept (max_err), NUL-terminated, "" when not kept. Borrowed. */
    size_t err_len;
};

/* Called exactly once per started child, from a loop watcher (never inside qb_proc_start),
 * after the child has exited and been reaped and its output has ended (or the deadline
 * passed). The qb_proc handle is freed when this returns: forget it here. */
typedef void (*qb_proc_done_fn)(void *ud, const struct qb_proc_result *r);

/* Start argv[0] (an absolute path) with argv (NULL-terminated; borrowed, copied by exec).
 * o may be NULL (all defaults). On success returns QB_OK, *out (if out != NULL) is the handle
 * for qb_proc_cancel, and done(ud, ...) will be called later on loop. On failure nothing was
 * started, done is never called, and the error is: QB_EINVAL (bad arguments, argv[0] not
 * absolute), QB_ENOENT (no such program), QB_EDENIED (not executable), QB_ENOMEM, QB_EIO
 * (pipe or fork failed). Works on the default loop (ev_child) and on any other loop (waitpid
 * polled on a timer). */
int qb_proc_start(struct ev_loop *loop, char *const argv[], const struct qb_proc_opts *o,
                  qb_proc_done_fn done, void *ud, struct qb_proc **out);

/* Kill the child's process group, reap the child and free the handle without calling done
 * (shutdown). p must be a handle whose done has not been called; NULL is ignored. Called from
 * inside p's own done callback it does nothing. */
void qb_proc_cancel(struct qb_proc *p);

/* The child's pid, which is also its process group id. */
pid_t qb_proc_pid(const struct qb_proc *p);

/* The running program's absolute path (readlink /proc/self/exe), to start the bot's own
 * commands as children. A " (deleted)" suffix (binary replaced by an upgrade) is removed, so
 * the path names the program now installed there. QB_OK, QB_EIO, or QB_ETOOBIG if n is short. */
int qb_self_exe(char *buf, size_t n);

#endif

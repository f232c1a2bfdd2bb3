/*
 * proc.c — child processes on the bot's libev loop (see proc.h): fork + exec with a clean
 * child (own process group, default signals, /dev/null stdin, no descriptor above 2 kept,
 * rlimits), stdout/stderr read through non-blocking pipes, a deadline that SIGKILLs the whole
 * group, and one callback with the outcome. After fork the child runs only the
 * async-signal-safe set-up before exec, never the bot's own code.
 *
 * Owns each struct qb_proc: its pipes, watchers, output buffers and the child until it is
 * reaped. Must not block the loop on the child (only a just-killed child is reaped with a
 * blocking waitpid, on cancel) and must never call the callback from inside qb_proc_start.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <qunbot/qunbot.h>

#include "proc.h"
#include "util/util.h"

#define REAP_POLL_S  0.02 /* waitpid polling off the default loop */
#define READ_CHUNK   16384
#define READS_PER_CB 16 /* bounded work per wake-up: a flooding child cannot hog the loop */

struct stream {
    struct qb_proc *p;
    int fd; /* read end, -1 when closed */
    ev_io io;
    struct qb_buf buf;
    size_t cap;
    bool truncated;
};

struct qb_proc {
    struct ev_loop *loop;
    pid_t pid; /* also the process group id */
    qb_proc_done_fn done;
    void *ud;
    struct stream s[2]; /* stdout, stderr */
    ev_child child;     /* default loop */
    ev_timer reap;      /* other loops: poll waitpid once the output has ended */
    ev_timer deadline;
    bool exited, timed_out, in_cb;
    int status;
};

/* ---- the child, between fork and exec: async-signal-safe calls only ---- */

static void child_fail(int fail_w)
{
    int e = errno;
    ssize_t w = write(fail_w, &e, sizeof e);
    (void)w;
    _exit(127);
}

static void child_signals(void)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            sigaction(s, &dfl, NULL); /* ignored signals would stay ignored across exec */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

static void child_limits(const struct qb_proc_opts *o)
{
    struct rlimit rl = {0, 0};
    setrlimit(RLIMIT_CORE, &rl);
    if (o->mem_limit) {
        rl.rlim_cur = rl.rlim_max = o->mem_limit;
        setrlimit(RLIMIT_AS, &rl);
    }
    if (o->cpu_s) {
        rl.rlim_cur = rl.rlim_max = o->cpu_s;
        setrlimit(RLIMIT_CPU, &rl);
    }
}

/* out_w: stdout write end; err_w: stderr write end or -1; fail_w: exec-failure report. */
static void child_run(char *const argv[], const struct qb_proc_opts *o, int out_w, int err_w,
                      int fail_w)
{
    child_signals();
    setpgid(0, 0);
    /* lift the pipe ends above 2 first so the dup2s below cannot clobber one another */
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    int ow = fcntl(out_w, F_DUPFD_CLOEXEC, 3);
    int ew = err_w >= 0 ? fcntl(err_w, F_DUPFD_CLOEXEC, 3) : null;
    int fw = fcntl(fail_w, F_DUPFD_CLOEXEC, 3);
    if (fw < 0)
        fw = fail_w;
    if (null < 0 || ow < 0 || ew < 0 || dup2(null, 0) < 0 || dup2(ow, 1) < 0 || dup2(ew, 2) < 0)
        child_fail(fw);
    /* close everything above 2, whatever it is (sockets, pipes, the loop's, the database's
     * files), except the failure pipe (it closes on exec) */
    int keep = fw;
    if (keep > 3 && close_range(3, (unsigned)keep - 1, 0) < 0)
        for (int fd = 3; fd < keep; fd++)
            close(fd);
    if (close_range((unsigned)keep + 1, ~0U, 0) < 0)
        for (int fd = keep + 1; fd < 4096; fd++)
            close(fd);
    child_limits(o);
    execve(argv[0], argv, o->envp ? o->envp : environ);
    child_fail(fw);
}

/* ---- the parent ---- */

static void stream_close(struct stream *st)
{
    if (st->fd < 0)
        return;
    ev_io_stop(st->p->loop, &st->io);
    close(st->fd);
    st->fd = -1;
}

static void stop_all(struct qb_proc *p)
{
    stream_close(&p->s[0]);
    stream_close(&p->s[1]);
    ev_child_stop(p->loop, &p->child);
    ev_timer_stop(p->loop, &p->reap);
    ev_timer_stop(p->loop, &p->deadline);
}

static void proc_free(struct qb_proc *p)
{
    stop_all(p);
    qb_buf_free(&p->s[0].buf);
    qb_buf_free(&p->s[1].buf);
    free(p);
}

static int decode_status(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return -WTERMSIG(st);
    return QB_PROC_LOST;
}

static void finish(struct qb_proc *p)
{
    if (!p->exited || p->s[0].fd >= 0 || p->s[1].fd >= 0)
        return;
    stop_all(p);
    struct qb_proc_result r = {
            .status = p->status,
            .timed_out = p->timed_out,
            .truncated = p->s[0].truncated,
            .out = p->s[0].buf.p ? p->s[0].buf.p : "",
            .len = p->s[0].buf.len,
            .err = p->s[1].buf.p ? p->s[1].buf.p : "",
            .err_len = p->s[1].buf.len,
    };
    p->in_cb = true;
    p->done(p->ud, &r);
    proc_free(p);
}

/* Output has ended: off the default loop, start polling for the exit. */
static void output_ended(struct qb_proc *p)
{
    if (p->s[0].fd < 0 && p->s[1].fd < 0 && !p->exited && !ev_is_active(&p->child))
        ev_timer_start(p->loop, &p->reap);
    finish(p);
}

static void keep(struct stream *st, const char *data, size_t n)
{
    size_t room = st->cap - st->buf.len;
    size_t take = n < room ? n : room;
    if (take < n)
        st->truncated = true;
    if (take && qb_buf_append(&st->buf, data, take) != QB_OK)
        st->truncated = true; /* out of memory: keep what we have */
}

static void read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct stream *st = w->data;
    char buf[READ_CHUNK];
    for (int i = 0; i < READS_PER_CB; i++) {
        ssize_t n = read(st->fd, buf, sizeof buf);
        if (n > 0) {
            keep(st, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        stream_close(st); /* end of output, or a read error */
        output_ended(st->p);
        return;
    }
}

static void exited(struct qb_proc *p, int status)
{
    ev_child_stop(p->loop, &p->child);
    ev_timer_stop(p->loop, &p->reap);
    p->exited = true;
    p->status = status;
    finish(p);
}

static void child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
    (void)loop;
    (void)revents;
    struct qb_proc *p = w->data;
    exited(p, decode_status(w->rstatus));
}

static void reap_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct qb_proc *p = w->data;
    int st = 0;
    pid_t r = waitpid(p->pid, &st, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR))
        return;
    exited(p, r == p->pid ? decode_status(st) : QB_PROC_LOST);
}

/* The group id stays reserved while any member lives, so killing it is safe even after the
 * leader was reaped; the leader's own pid is only used while it is ours (not yet reaped). */
static void kill_group(const struct qb_proc *p)
{
    kill(-p->pid, SIGKILL);
    if (!p->exited)
        kill(p->pid, SIGKILL); /* in case it never became a group leader */
}

static void deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct qb_proc *p = w->data;
    p->timed_out = true;
    kill_group(p);
    /* a grandchild that left the group may still hold the pipes: stop reading now */
    stream_close(&p->s[0]);
    stream_close(&p->s[1]);
    output_ended(p);
}

static int errno_to_qb(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
    case ELOOP:
    case ENAMETOOLONG:
        return QB_ENOENT;
    case EACCES:
    case EPERM:
    case ENOEXEC:
        return QB_EDENIED;
    case ENOMEM:
    case E2BIG:
        return QB_ENOMEM;
    default:
        return QB_EIO;
    }
}

static void close_pair(int fd[2])
{
    for (int i = 0; i < 2; i++)
        if (fd[i] >= 0)
            close(fd[i]);
    fd[0] = fd[1] = -1;
}

/* Three pipes: stdout, stderr (if kept) and the exec-failure report. */
static int open_pipes(int out[2], int err[2], int fail[2], bool want_err)
{
    out[0] = out[1] = err[0] = err[1] = fail[0] = fail[1] = -1;
    if (pipe2(out, O_CLOEXEC) < 0 || (want_err && pipe2(err, O_CLOEXEC) < 0) ||
        pipe2(fail, O_CLOEXEC) < 0) {
        close_pair(out);
        close_pair(err);
        close_pair(fail);
        return QB_EIO;
    }
    /* only the parent's read ends are non-blocking; the child writes blocking */
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    if (want_err)
        fcntl(err[0], F_SETFL, O_NONBLOCK);
    return QB_OK;
}

/* Wait for exec (the report pipe closes) or its failure (errno arrives). */
static int exec_result(int fail_r)
{
    int e = 0;
    ssize_t n;
    do
        n = read(fail_r, &e, sizeof e);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof e ? errno_to_qb(e) : QB_OK;
}

static void reap_now(pid_t pid)
{
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

static void stream_init(struct qb_proc *p, int i, int fd, size_t cap)
{
    struct stream *st = &p->s[i];
    st->p = p;
    st->fd = fd;
    st->cap = cap;
    qb_buf_init(&st->buf);
    ev_io_init(&st->io, read_cb, fd, EV_READ);
    st->io.data = st;
    if (fd >= 0)
        ev_io_start(p->loop, &st->io);
}

static void watch(struct qb_proc *p, const struct qb_proc_opts *o)
{
    stream_init(p, 0, p->s[0].fd, o->max_out ? o->max_out : QB_PROC_OUT_DEFAULT);
    stream_init(p, 1, p->s[1].fd, o->max_err);
    ev_init(&p->child, child_cb);
    p->child.data = p;
    ev_timer_init(&p->reap, reap_cb, REAP_POLL_S, REAP_POLL_S);
    p->reap.data = p;
    ev_init(&p->deadline, deadline_cb);
    p->deadline.data = p;
    if (ev_is_default_loop(p->loop)) {
        /* libev reaps children only on the default loop; elsewhere reap_cb polls */
        ev_child_set(&p->child, p->pid, 0);
        ev_child_start(p->loop, &p->child);
    }
    if (o->timeout_s > 0) {
        ev_now_update(p->loop); /* the loop's clock may be stale after slow work */
        ev_timer_set(&p->deadline, o->timeout_s, 0.);
        ev_timer_start(p->loop, &p->deadline);
    }
}

static int spawn(struct ev_loop *loop, char *const argv[], const struct qb_proc_opts *o,
                 qb_proc_done_fn done, void *ud, struct qb_proc **out)
{
    struct qb_proc *p = calloc(1, sizeof *p);
    if (!p)
        return QB_ENOMEM;
    int po[2], pe[2], pf[2];
    if (open_pipes(po, pe, pf, o->max_err > 0) != QB_OK) {
        free(p);
        return QB_EIO;
    }
    pid_t pid = fork();
    if (pid == 0)
        child_run(argv, o, po[1], pe[1], pf[1]);
    close(po[1]);
    if (pe[1] >= 0)
        close(pe[1]);
    close(pf[1]);
    int rc = pid < 0 ? QB_EIO : QB_OK;
    if (pid > 0) {
        setpgid(pid, pid); /* also here, so a kill of the group can never miss it */
        rc = exec_result(pf[0]);
        if (rc != QB_OK)
            reap_now(pid);
    }
    close(pf[0]);
    if (rc != QB_OK) {
        close(po[0]);
        if (pe[0] >= 0)
            close(pe[0]);
        free(p);
        return rc;
    }
    p->loop = loop;
    p->pid = pid;
    p->done = done;
    p->ud = ud;
    p->s[0].fd = po[0];
    p->s[1].fd = pe[0];
    watch(p, o);
    if (out)
        *out = p;
    return QB_OK;
}

int qb_proc_start(struct ev_loop *loop, char *const argv[], const struct qb_proc_opts *o,
                  qb_proc_done_fn done, void *ud, struct qb_proc **out)
{
    static const struct qb_proc_opts none;
    if (out)
        *out = NULL;
    if (!loop || !argv || !argv[0] || argv[0][0] != '/' || !done)
        return QB_EINVAL;
    return spawn(loop, argv, o ? o : &none, done, ud, out);
}

void qb_proc_cancel(struct qb_proc *p)
{
    if (!p || p->in_cb)
        return;
    bool output_open = p->s[0].fd >= 0 || p->s[1].fd >= 0;
    stop_all(p);
    if (!p->exited || output_open)
        kill_group(p);
    if (!p->exited)
        reap_now(p->pid);
    proc_free(p);
}

pid_t qb_proc_pid(const struct qb_proc *p)
{
    return p ? p->pid : 0;
}

int qb_self_exe(char *buf, size_t n)
{
    static const char deleted[] = " (deleted)";
    if (!buf || n < 2)
        return QB_EINVAL;
    ssize_t r = readlink("/proc/self/exe", buf, n);
    if (r < 0)
        return QB_EIO;
    if ((size_t)r >= n)
        return QB_ETOOBIG;
    buf[r] = '\0';
    size_t dl = sizeof deleted - 1;
    if ((size_t)r > dl && !strcmp(buf + r - dl, deleted) && access(buf, F_OK) < 0)
        buf[r - dl] = '\0';
    return QB_OK;
}

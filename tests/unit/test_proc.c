/*
 * test_proc.c — child processes on the loop (bot/proc.c): output, exit codes, signals,
 * deadlines that kill the whole process group, truncation, stderr, environment, limits,
 * a clean child (signals, descriptors), cancel, failed starts, fd leaks, both kinds of loop.
 * Runs real /bin/sh children; every wait is an ev loop run with a guard timer.
 * link: qb_core
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <qunbot/qunbot.h>

#include "proc.h"
#include "test.h"

struct got {
    int calls;
    int status;
    bool timed_out, truncated;
    char out[4096];
    size_t len;
    char err[256];
    size_t err_len;
    double at;
};

static void on_done(void *ud, const struct qb_proc_result *r)
{
    struct got *g = ud;
    g->calls++;
    g->status = r->status;
    g->timed_out = r->timed_out;
    g->truncated = r->truncated;
    g->len = r->len;
    g->err_len = r->err_len;
    g->at = ev_time();
    snprintf(g->out, sizeof g->out, "%s", r->out);
    snprintf(g->err, sizeof g->err, "%s", r->err);
}

static void guard_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ONE);
}

/* Run the loop until g has been answered, or for at most secs. */
static bool wait_for(struct ev_loop *loop, struct got *g, double secs)
{
    ev_timer guard;
    ev_timer_init(&guard, guard_cb, secs, 0.);
    ev_timer_start(loop, &guard);
    while (g->calls == 0 && ev_is_active(&guard))
        ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &guard);
    return g->calls > 0;
}

/* Run the loop for secs (to see that nothing more happens). */
static void run_for(struct ev_loop *loop, double secs)
{
    ev_timer guard;
    ev_timer_init(&guard, guard_cb, secs, 0.);
    ev_timer_start(loop, &guard);
    ev_run(loop, 0);
    ev_timer_stop(loop, &guard);
}

/* Start /bin/sh -c script and wait for the answer. */
static struct got sh_on(struct ev_loop *loop, const char *script, const struct qb_proc_opts *o)
{
    struct got g = {.status = 12345};
    char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};
    CHECK_INT(qb_proc_start(loop, argv, o, on_done, &g, NULL), QB_OK);
    CHECK_INT(g.calls, 0); /* never answered inside the call */
    CHECK(wait_for(loop, &g, 10));
    run_for(loop, 0.05); /* exactly once: nothing arrives later */
    CHECK_INT(g.calls, 1);
    return g;
}

static struct got sh(const char *script, const struct qb_proc_opts *o)
{
    return sh_on(ev_default_loop(0), script, o);
}

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

/* Is the process gone (no such pid, or a zombie that only init can reap)? */
static bool gone(pid_t pid)
{
    if (kill(pid, 0) < 0 && errno == ESRCH)
        return true;
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return true;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return true;
    buf[n] = '\0';
    const char *rp = strrchr(buf, ')');
    return rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
}

/* ---- tests ---- */

TEST(output_comes_back)
{
    struct got g = sh("printf hello", NULL);
    CHECK_STR(g.out, "hello");
    CHECK_INT(g.len, 5);
    CHECK_INT(g.status, 0);
    CHECK(!g.timed_out);
    CHECK(!g.truncated);
    CHECK_STR(g.err, "");
}

TEST(exit_code_comes_back)
{
    struct got g = sh("printf partial; exit 3", NULL);
    CHECK_INT(g.status, 3);
    CHECK_STR(g.out, "partial");
    CHECK(!g.timed_out);
}

TEST(death_by_signal_is_minus_the_signal)
{
    struct got g = sh("kill -SEGV $$", NULL);
    CHECK_INT(g.status, -SIGSEGV);
    g = sh("kill -TERM $$", NULL);
    CHECK_INT(g.status, -SIGTERM);
    CHECK(!g.timed_out);
}

TEST(deadline_kills_the_whole_group)
{
    struct ev_loop *loop = ev_default_loop(0);
    struct got g = {0};
    char *argv[] = {"/bin/sleep", "10", NULL};
    struct qb_proc_opts o = {.timeout_s = 0.2};
    struct qb_proc *p = NULL;
    double t0 = ev_time();
    CHECK_INT(qb_proc_start(loop, argv, &o, on_done, &g, &p), QB_OK);
    CHECK(p != NULL);
    pid_t pgid = qb_proc_pid(p);
    CHECK(pgid > 0);
    CHECK_INT(getpgid(pgid), pgid); /* its own process group */
    CHECK(wait_for(loop, &g, 5));
    CHECK(g.timed_out);
    CHECK_INT(g.status, -SIGKILL);
    CHECK(g.at - t0 >= 0.19);
    CHECK(g.at - t0 < 2);
    errno = 0;
    CHECK_INT(kill(-pgid, 0), -1);
    CHECK_INT(errno, ESRCH);
}

TEST(deadline_stops_a_grandchild_that_holds_the_output)
{
    /* the shell exits at once but its background child keeps stdout open */
    struct qb_proc_opts o = {.timeout_s = 0.3};
    struct got g = sh("sleep 10 & echo $!; exit 0", &o);
    CHECK(g.timed_out);
    CHECK_INT(g.status, 0); /* the child itself ended normally */
    pid_t grandchild = (pid_t)atoi(g.out);
    CHECK(grandchild > 0);
    CHECK(gone(grandchild));
}

TEST(deadline_answers_even_if_a_grandchild_left_the_group)
{
    /* setsid takes the grandchild out of reach of the group kill; it still holds stdout */
    struct qb_proc_opts o = {.timeout_s = 0.3};
    double t0 = ev_time();
    struct got g = sh("setsid sleep 10 & echo $!; exit 0", &o);
    CHECK(g.timed_out);
    CHECK(g.at - t0 < 2);
    pid_t escaped = (pid_t)atoi(g.out);
    CHECK(escaped > 0);
    if (escaped > 0)
        kill(escaped, SIGKILL);
}

TEST(output_over_the_limit_is_truncated)
{
    struct qb_proc_opts o = {.max_out = 1000};
    struct got g = sh("head -c 200000 /dev/zero | tr '\\000' a; exit 0", &o);
    CHECK_INT(g.len, 1000);
    CHECK(g.truncated);
    CHECK_INT(g.status, 0); /* the rest was read and dropped: the child was not stuck */
    CHECK(g.out[0] == 'a' && g.out[999] == 'a');
    o.max_out = 4;
    g = sh("printf abcd", &o);
    CHECK_STR(g.out, "abcd");
    CHECK(!g.truncated); /* exactly the limit is not truncated */
}

TEST(stderr_is_kept_only_when_asked)
{
    struct got g = sh("echo oops >&2; printf out; exit 1", NULL);
    CHECK_STR(g.err, "");
    CHECK_STR(g.out, "out");
    struct qb_proc_opts o = {.max_err = 3};
    g = sh("echo oops >&2; exit 1", &o);
    CHECK_STR(g.err, "oop");
    CHECK_INT(g.err_len, 3);
    CHECK_INT(g.status, 1);
}

TEST(stdin_is_empty)
{
    struct got g = sh("cat; printf done", NULL);
    CHECK_STR(g.out, "done");
}

TEST(environment_is_inherited_or_given)
{
    setenv("QB_PROC_TEST", "inherited", 1);
    struct got g = sh("printf %s \"$QB_PROC_TEST\"", NULL);
    CHECK_STR(g.out, "inherited");
    char *env[] = {"QB_PROC_TEST=given", NULL};
    struct qb_proc_opts o = {.envp = env};
    g = sh("printf %s \"$QB_PROC_TEST\"", &o);
    CHECK_STR(g.out, "given");
    unsetenv("QB_PROC_TEST");
}

TEST(limits_are_applied)
{
    struct qb_proc_opts o = {.mem_limit = (rlim_t)256 * 1024 * 1024, .cpu_s = 7};
    struct got g = sh("ulimit -v; ulimit -t; ulimit -c", &o);
    CHECK_STR(g.out, "262144\n7\n0\n");
}

TEST(child_starts_clean)
{
    /* an ignored and a blocked signal in the bot must not carry over */
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigaction(SIGTERM, &ign, &old);
    sigset_t block, oldmask;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &oldmask);
    struct got g = sh("kill -TERM $$; echo survived", NULL);
    CHECK_INT(g.status, -SIGTERM);
    g = sh("kill -USR1 $$; echo survived", NULL);
    CHECK_INT(g.status, -SIGUSR1);
    g = sh("kill -PIPE $$; echo survived", NULL); /* main() ignores SIGPIPE */
    CHECK_INT(g.status, -SIGPIPE);
    sigprocmask(SIG_SETMASK, &oldmask, NULL);
    sigaction(SIGTERM, &old, NULL);

    /* a descriptor the bot forgot to mark close-on-exec is not inherited */
    int leak = open("/dev/null", O_RDONLY);
    CHECK(leak > 2);
    char script[128];
    snprintf(script, sizeof script,
             "if [ -e /proc/$$/fd/%d ]; then echo open; else echo closed; fi", leak);
    g = sh(script, NULL);
    CHECK_STR(g.out, "closed\n");
    close(leak);
    /* nor a regular file (the bot's database, its WAL), nor a socket, close-on-exec or not:
     * a worker must never share the bot's SQLite files or keep a connection open */
    char path[] = "/tmp/qb-proc-file-XXXXXX";
    int file = mkstemp(path);
    CHECK(file > 2);
    unlink(path);
    int sv[2];
    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    snprintf(script, sizeof script,
             "for fd in %d %d; do [ -e /proc/$$/fd/$fd ] && echo open $fd; done; echo done", file,
             sv[0]);
    g = sh(script, NULL);
    CHECK_STR(g.out, "done\n");
    close(sv[0]); /* the child held no copy: the peer sees the end at once */
    char c;
    CHECK_INT(read(sv[1], &c, 1), 0);
    close(sv[1]);
    close(file);
    g = sh("ls /proc/$$/fd; true", NULL); /* the shell's descriptors, listed by its child */
    CHECK_STR(g.out, "0\n1\n2\n");
    CHECK(getpgid(0) == getpgrp()); /* the test's own group is untouched */
}

TEST(failed_start_returns_an_error_and_never_calls_back)
{
    struct ev_loop *loop = ev_default_loop(0);
    int before = count_fds();
    struct got g = {0};
    char *missing[] = {"/nonexistent/program", NULL};
    CHECK_INT(qb_proc_start(loop, missing, NULL, on_done, &g, NULL), QB_ENOENT);
    char *notexec[] = {"/etc/hostname", NULL};
    CHECK_INT(qb_proc_start(loop, notexec, NULL, on_done, &g, NULL), QB_EDENIED);
    char *relative[] = {"sh", "-c", "true", NULL};
    CHECK_INT(qb_proc_start(loop, relative, NULL, on_done, &g, NULL), QB_EINVAL);
    CHECK_INT(qb_proc_start(loop, NULL, NULL, on_done, &g, NULL), QB_EINVAL);
    run_for(loop, 0.05);
    CHECK_INT(g.calls, 0);
    CHECK_INT(count_fds(), before);
    errno = 0;
    CHECK(waitpid(-1, NULL, WNOHANG) <= 0); /* nothing left to reap */
}

TEST(cancel_kills_and_never_calls_back)
{
    struct ev_loop *loop = ev_default_loop(0);
    struct got g = {0};
    char *argv[] = {"/bin/sh", "-c", "sleep 10 & sleep 10", NULL};
    struct qb_proc *p = NULL;
    CHECK_INT(qb_proc_start(loop, argv, NULL, on_done, &g, &p), QB_OK);
    pid_t pgid = qb_proc_pid(p);
    run_for(loop, 0.05);
    qb_proc_cancel(p);
    errno = 0;
    CHECK_INT(kill(pgid, 0), -1); /* the child was killed and reaped */
    CHECK_INT(errno, ESRCH);
    run_for(loop, 0.1);
    CHECK_INT(g.calls, 0);
    qb_proc_cancel(NULL); /* harmless */
}

static struct qb_proc *self_cancel;
static void cancel_inside(void *ud, const struct qb_proc_result *r)
{
    on_done(ud, r);
    qb_proc_cancel(self_cancel); /* too late: ignored, not a double free */
}

TEST(cancel_inside_the_callback_is_ignored)
{
    struct ev_loop *loop = ev_default_loop(0);
    struct got g = {0};
    char *argv[] = {"/bin/sh", "-c", "printf x", NULL};
    CHECK_INT(qb_proc_start(loop, argv, NULL, cancel_inside, &g, &self_cancel), QB_OK);
    CHECK(wait_for(loop, &g, 5));
    CHECK_STR(g.out, "x");
}

TEST(no_descriptors_leak)
{
    struct ev_loop *loop = ev_default_loop(0);
    sh("true", NULL); /* libev sets up its signal plumbing on first use */
    int before = count_fds();
    CHECK(before > 0);
    struct qb_proc_opts o = {.timeout_s = 0.1, .max_err = 10, .max_out = 10};
    sh("printf hello; echo err >&2", &o);
    sh("sleep 5", &o);
    sh("head -c 100000 /dev/zero", &o);
    struct got g = {0};
    char *argv[] = {"/bin/sleep", "5", NULL};
    struct qb_proc *p;
    CHECK_INT(qb_proc_start(loop, argv, &o, on_done, &g, &p), QB_OK);
    qb_proc_cancel(p);
    CHECK_INT(count_fds(), before);
}

TEST(several_children_at_once)
{
    struct ev_loop *loop = ev_default_loop(0);
    struct got g[5];
    memset(g, 0, sizeof g);
    char scripts[5][64];
    for (int i = 0; i < 5; i++) {
        snprintf(scripts[i], sizeof scripts[i], "printf child%d; exit %d", i, i);
        char *argv[] = {"/bin/sh", "-c", scripts[i], NULL};
        CHECK_INT(qb_proc_start(loop, argv, NULL, on_done, &g[i], NULL), QB_OK);
    }
    for (int i = 0; i < 5; i++)
        CHECK(wait_for(loop, &g[i], 10));
    for (int i = 0; i < 5; i++) {
        char want[16];
        snprintf(want, sizeof want, "child%d", i);
        CHECK_STR(g[i].out, want);
        CHECK_INT(g[i].status, i);
    }
}

TEST(works_on_a_loop_that_is_not_the_default)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    CHECK(loop != NULL);
    struct got g = sh_on(loop, "printf hello", NULL);
    CHECK_STR(g.out, "hello");
    CHECK_INT(g.status, 0);
    g = sh_on(loop, "exit 3", NULL);
    CHECK_INT(g.status, 3);
    g = sh_on(loop, "kill -KILL $$", NULL);
    CHECK_INT(g.status, -SIGKILL);
    struct qb_proc_opts o = {.timeout_s = 0.2};
    double t0 = ev_time();
    g = sh_on(loop, "sleep 10", &o);
    CHECK(g.timed_out);
    CHECK(g.at - t0 < 2);
    int before = count_fds();
    struct got c = {0};
    char *argv[] = {"/bin/sleep", "5", NULL};
    struct qb_proc *p;
    CHECK_INT(qb_proc_start(loop, argv, NULL, on_done, &c, &p), QB_OK);
    pid_t pid = qb_proc_pid(p);
    qb_proc_cancel(p);
    CHECK(kill(pid, 0) < 0);
    run_for(loop, 0.05);
    CHECK_INT(c.calls, 0);
    CHECK_INT(count_fds(), before);
    ev_loop_destroy(loop);
}

TEST(self_exe_names_this_program)
{
    char path[4096];
    CHECK_INT(qb_self_exe(path, sizeof path), QB_OK);
    CHECK(path[0] == '/');
    CHECK(strstr(path, "test_proc") != NULL);
    CHECK(access(path, X_OK) == 0);
    char tiny[4];
    CHECK_INT(qb_self_exe(tiny, sizeof tiny), QB_ETOOBIG);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* like the bot: the child must get it back */
    RUN(output_comes_back);
    RUN(exit_code_comes_back);
    RUN(death_by_signal_is_minus_the_signal);
    RUN(deadline_kills_the_whole_group);
    RUN(deadline_stops_a_grandchild_that_holds_the_output);
    RUN(deadline_answers_even_if_a_grandchild_left_the_group);
    RUN(output_over_the_limit_is_truncated);
    RUN(stderr_is_kept_only_when_asked);
    RUN(stdin_is_empty);
    RUN(environment_is_inherited_or_given);
    RUN(limits_are_applied);
    RUN(child_starts_clean);
    RUN(failed_start_returns_an_error_and_never_calls_back);
    RUN(cancel_kills_and_never_calls_back);
    RUN(cancel_inside_the_callback_is_ignored);
    RUN(no_descriptors_leak);
    RUN(several_children_at_once);
    RUN(works_on_a_loop_that_is_not_the_default);
    RUN(self_exe_names_this_program);
    return test_done();
}

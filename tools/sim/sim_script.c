/*
 * sim_script.c — scenario files ("tests as data", docs/SIMULATOR.md): one command per line,
 * parsed completely at load time (errors name file:line), then run step by step on the
 * loop: waits are timers, expectations poll the call record until they hold or time out.
 * Owns the parsed steps and its two timers; failures are counted and logged with file:line.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

#define POLL_S           0.01
#define DEFAULT_WITHIN   5000
#define MAX_TOKENS_FIXED 4

enum op {
    OP_WAIT,
    OP_GROUP,
    OP_MEMBER,
    OP_MSG,
    OP_PRIVATE,
    OP_JOIN,
    OP_LEAVE,
    OP_REQUEST,
    OP_FRIEND_REQUEST,
    OP_RECALL,
    OP_RAW,
    OP_DROP,
    OP_STOP,
    OP_START,
    OP_FAIL,
    OP_HANG,
    OP_ONLINE,
    OP_LOG,
    OP_EXPECT,
    OP_EXPECT_NONE,
    OP_EXPECT_CONNECTED,
};

struct step {
    enum op op;
    int line;
    char *a[MAX_TOKENS_FIXED]; /* fixed arguments (owned, may be NULL) */
    char *text;                /* the rest of the line (owned, may be NULL) */
    int64_t n1, n2;
};

struct sim_script {
    struct qb_sim *sim;
    char *file;
    struct step *steps;
    size_t nsteps, pc;
    int failures;
    bool finished, waiting;
    size_t cursor;    /* expect: calls before this index are already used */
    size_t none_from; /* expect-none: first call index to look at */
    ev_tstamp deadline;
    ev_timer timer; /* wait and the start */
    ev_timer poll;  /* expectations */
};

static void step_free(struct step *st)
{
    for (int i = 0; i < MAX_TOKENS_FIXED; i++)
        free(st->a[i]);
    free(st->text);
}

void sim__script_free(struct sim_script *sc)
{
    if (!sc)
        return;
    ev_timer_stop(sc->sim->loop, &sc->timer);
    ev_timer_stop(sc->sim->loop, &sc->poll);
    for (size_t i = 0; i < sc->nsteps; i++)
        step_free(&sc->steps[i]);
    free(sc->steps);
    free(sc->file);
    free(sc);
}

/* ---- parsing ---- */

/* Next whitespace-separated token of *p (NUL-terminated in place), or NULL. */
static char *token(char **p)
{
    char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    if (!*s) {
        *p = s;
        return NULL;
    }
    char *t = s;
    while (*s && *s != ' ' && *s != '\t')
        s++;
    if (*s)
        *s++ = '\0';
    *p = s;
    return t;
}

static char *rest(char **p)
{
    char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    *p = s + strlen(s);
    return *s ? s : NULL;
}

/* "\n" in member text becomes a line break; "\\" a backslash. Caller frees. */
static char *unescape_text(const char *s)
{
    struct qb_buf b;
    qb_buf_init(&b);
    for (; *s; s++) {
        if (s[0] == '\\' && s[1] == 'n') {
            qb_buf_puts(&b, "\n");
            s++;
        } else if (s[0] == '\\' && s[1] == '\\') {
            qb_buf_puts(&b, "\\");
            s++;
        } else {
            qb_buf_append(&b, s, 1);
        }
    }
    return qb_buf_steal(&b);
}

static bool is_int(const char *s)
{
    if (!s || !*s)
        return false;
    if (*s == '-')
        s++;
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

static const struct {
    const char *name;
    enum op op;
    int nfixed; /* required fixed tokens */
    int nopt;   /* optional fixed tokens after them */
    int text;   /* 0 none, 1 optional, 2 required */
    const char *usage;
} commands[] = {
        {"wait", OP_WAIT, 1, 0, 0, "wait <duration>"},
        {"group", OP_GROUP, 1, 0, 2, "group <group_id> <name>"},
        {"member", OP_MEMBER, 4, 0, 0, "member <group_id> <user_id> <nickname> <role>"},
        {"msg", OP_MSG, 2, 0, 2, "msg <group_id> <user_id> <text...>"},
        {"private", OP_PRIVATE, 1, 0, 2, "private <user_id> <text...>"},
        {"join", OP_JOIN, 2, 2, 0, "join <group_id> <user_id> [approve|invite] [operator_id]"},
        {"leave", OP_LEAVE, 2, 2, 0, "leave <group_id> <user_id> [leave|kick] [operator_id]"},
        {"request", OP_REQUEST, 2, 0, 1, "request <group_id> <user_id> <comment...>"},
        {"friend-request", OP_FRIEND_REQUEST, 1, 0, 1, "friend-request <user_id> <comment...>"},
        {"recall", OP_RECALL, 3, 0, 0, "recall <group_id> <user_id> <message_id|last>"},
        {"raw", OP_RAW, 0, 0, 2, "raw <frame...>"},
        {"drop", OP_DROP, 0, 0, 0, "drop"},
        {"stop", OP_STOP, 0, 0, 0, "stop"},
        {"start", OP_START, 0, 0, 0, "start"},
        {"fail", OP_FAIL, 2, 0, 1, "fail <action> <retcode> [n] <message...>"},
        {"hang", OP_HANG, 1, 1, 0, "hang <action> [n]"},
        {"online", OP_ONLINE, 1, 0, 0, "online 0|1"},
        {"log", OP_LOG, 0, 0, 1, "log <text...>"},
        {"expect", OP_EXPECT, 1, 0, 1, "expect <action> [within <duration>] [contains <text...>]"},
        {"expect-none", OP_EXPECT_NONE, 1, 0, 1,
         "expect-none <action> for <duration> [contains <text...>]"},
        {"expect-connected", OP_EXPECT_CONNECTED, 0, 0, 1, "expect-connected [within <duration>]"},
};

static int parse_error(char *err, size_t errlen, const char *file, int line, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

static int parse_error(char *err, size_t errlen, const char *file, int line, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "%s:%d: %s", file, line, msg);
    return QB_EPARSE;
}

static int duration(const char *s, int64_t *ms)
{
    return s ? qb_parse_duration(s, ms) : QB_EINVAL;
}

/* Parse "[within D|for D] [contains text]" from st->text (for expects). */
static int parse_expect_tail(struct step *st, const char *file, char *err, size_t errlen,
                             const char *usage)
{
    char *tail = st->text ? strdup(st->text) : strdup("");
    char *p = tail;
    char *w = token(&p);
    int rc = QB_OK;
    free(st->text);
    st->text = NULL;
    st->n1 = st->op == OP_EXPECT_NONE ? -1 : DEFAULT_WITHIN;
    const char *want = st->op == OP_EXPECT_NONE ? "for" : "within";
    if (w && !strcmp(w, want)) {
        char *d = token(&p);
        if (duration(d, &st->n1)) {
            rc = parse_error(err, errlen, file, st->line,
                             "\"%s\" is not a duration (use 500ms, 2s, 1m); usage: %s", d, usage);
            goto out;
        }
        w = token(&p);
    }
    if (st->n1 < 0) {
        rc = parse_error(err, errlen, file, st->line, "missing \"for <duration>\"; usage: %s",
                         usage);
        goto out;
    }
    if (w && !strcmp(w, "contains") && st->op != OP_EXPECT_CONNECTED) {
        char *t = rest(&p);
        if (!t) {
            rc = parse_error(err, errlen, file, st->line,
                             "\"contains\" needs the text to look for; usage: %s", usage);
            goto out;
        }
        st->text = strdup(t);
    } else if (w) {
        rc = parse_error(err, errlen, file, st->line, "unexpected \"%s\"; usage: %s", w, usage);
    }
out:
    free(tail);
    return rc;
}

static int check_step(struct step *st, const char *file, char *err, size_t errlen,
                      const char *usage)
{
    switch (st->op) {
    case OP_WAIT:
        if (duration(st->a[0], &st->n1))
            return parse_error(err, errlen, file, st->line,
                               "\"%s\" is not a duration (use 500ms, 2s, 1m); usage: %s", st->a[0],
                               usage);
        return QB_OK;
    case OP_MEMBER:
        if (strcmp(st->a[3], "owner") && strcmp(st->a[3], "admin") && strcmp(st->a[3], "member"))
            return parse_error(err, errlen, file, st->line,
                               "role \"%s\" must be owner, admin or member; usage: %s", st->a[3],
                               usage);
        return QB_OK;
    case OP_JOIN:
    case OP_LEAVE: {
        const char *kind = st->a[2];
        bool ok = !kind || (st->op == OP_JOIN ? !strcmp(kind, "approve") || !strcmp(kind, "invite")
                                              : !strcmp(kind, "leave") || !strcmp(kind, "kick") ||
                                                        !strcmp(kind, "kick_me"));
        if (!ok)
            return parse_error(err, errlen, file, st->line, "unknown kind \"%s\"; usage: %s", kind,
                               usage);
        return QB_OK;
    }
    case OP_RECALL:
        if (strcmp(st->a[2], "last") && !is_int(st->a[2]))
            return parse_error(err, errlen, file, st->line,
                               "\"%s\" is not a message id or \"last\"; usage: %s", st->a[2],
                               usage);
        st->n1 = strcmp(st->a[2], "last") ? strtoll(st->a[2], NULL, 10) : 0;
        return QB_OK;
    case OP_FAIL: {
        if (!is_int(st->a[1]))
            return parse_error(err, errlen, file, st->line,
                               "retcode \"%s\" is not a number; usage: %s", st->a[1], usage);
        st->n1 = strtoll(st->a[1], NULL, 10);
        st->n2 = -1;
        char *t = st->text ? strdup(st->text) : NULL, *p = t;
        char *first = t ? token(&p) : NULL;
        if (first && is_int(first)) {
            st->n2 = strtoll(first, NULL, 10);
            char *r = rest(&p);
            free(st->text);
            st->text = r ? strdup(r) : NULL;
        }
        free(t);
        return QB_OK;
    }
    case OP_HANG:
        st->n2 = -1;
        if (st->a[1] && !is_int(st->a[1]))
            return parse_error(err, errlen, file, st->line, "\"%s\" is not a count; usage: %s",
                               st->a[1], usage);
        if (st->a[1])
            st->n2 = strtoll(st->a[1], NULL, 10);
        return QB_OK;
    case OP_ONLINE:
        if (strcmp(st->a[0], "0") && strcmp(st->a[0], "1"))
            return parse_error(err, errlen, file, st->line, "\"%s\" must be 0 or 1; usage: %s",
                               st->a[0], usage);
        st->n1 = st->a[0][0] == '1';
        return QB_OK;
    case OP_EXPECT:
    case OP_EXPECT_NONE:
    case OP_EXPECT_CONNECTED:
        return parse_expect_tail(st, file, err, errlen, usage);
    default:
        return QB_OK;
    }
}

static int parse_line(char *line, int lineno, const char *file, struct step *st, char *err,
                      size_t errlen)
{
    memset(st, 0, sizeof *st);
    char *p = line;
    char *cmd = token(&p);
    size_t i = 0;
    while (i < sizeof commands / sizeof commands[0] && strcmp(commands[i].name, cmd))
        i++;
    if (i == sizeof commands / sizeof commands[0])
        return parse_error(err, errlen, file, lineno,
                           "unknown command \"%s\" (see docs/SIMULATOR.md for the list)", cmd);
    st->op = commands[i].op;
    st->line = lineno;
    int k = 0;
    for (; k < commands[i].nfixed + commands[i].nopt; k++) {
        if (commands[i].text && k >= commands[i].nfixed)
            break;
        char *t = token(&p);
        if (!t && k < commands[i].nfixed)
            return parse_error(err, errlen, file, lineno, "missing arguments; usage: %s",
                               commands[i].usage);
        if (!t)
            break;
        st->a[k] = strdup(t);
    }
    char *t = rest(&p);
    if (commands[i].text == 0 && t)
        return parse_error(err, errlen, file, lineno, "unexpected \"%s\"; usage: %s", t,
                           commands[i].usage);
    if (commands[i].text == 2 && !t)
        return parse_error(err, errlen, file, lineno, "missing text; usage: %s", commands[i].usage);
    if (t)
        st->text = (st->op == OP_MSG || st->op == OP_PRIVATE || st->op == OP_REQUEST ||
                    st->op == OP_FRIEND_REQUEST)
                           ? unescape_text(t)
                           : strdup(t);
    return check_step(st, file, err, errlen, commands[i].usage);
}

/* ---- running ---- */

static void script_run(struct sim_script *sc);

static void fail_step(struct sim_script *sc, const struct step *st, const char *what)
{
    sc->failures++;
    qb_log(QB_LOG_ERROR, "%s:%d: %s", sc->file, st->line, what);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    script_run(w->data);
}

static bool expect_holds(struct sim_script *sc, const struct step *st)
{
    struct qb_sim *s = sc->sim;
    if (st->op == OP_EXPECT_CONNECTED)
        return qb_sim_connections(s) > 0;
    long i = qb_sim_find(s, sc->cursor, st->a[0], st->text);
    if (i < 0)
        return false;
    sc->cursor = (size_t)i + 1;
    return true;
}

static void describe(const struct step *st, char *buf, size_t len)
{
    if (st->op == OP_EXPECT_CONNECTED)
        snprintf(buf, len, "expected the bot to be connected within %lldms, but it was not",
                 (long long)st->n1);
    else if (st->op == OP_EXPECT)
        snprintf(buf, len, "expected a %s call%s%s%s within %lldms, but none came", st->a[0],
                 st->text ? " containing \"" : "", st->text ? st->text : "", st->text ? "\"" : "",
                 (long long)st->n1);
    else
        snprintf(buf, len, "expected no %s call%s%s%s for %lldms, but one came", st->a[0],
                 st->text ? " containing \"" : "", st->text ? st->text : "", st->text ? "\"" : "",
                 (long long)st->n1);
}

static void poll_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct sim_script *sc = w->data;
    const struct step *st = &sc->steps[sc->pc];
    bool timeout = ev_now(loop) >= sc->deadline;
    char what[400];
    if (st->op == OP_EXPECT_NONE) {
        if (!timeout)
            return;
        if (qb_sim_find(sc->sim, sc->none_from, st->a[0], st->text) >= 0) {
            describe(st, what, sizeof what);
            fail_step(sc, st, what);
        }
    } else if (!expect_holds(sc, st)) {
        if (!timeout)
            return;
        describe(st, what, sizeof what);
        fail_step(sc, st, what);
    }
    ev_timer_stop(loop, w);
    sc->waiting = false;
    sc->pc++;
    script_run(sc);
}

static void start_expect(struct sim_script *sc, const struct step *st)
{
    sc->waiting = true;
    sc->deadline = ev_now(sc->sim->loop) + (double)st->n1 / 1000.0;
    sc->none_from = qb_sim_ncalls(sc->sim);
    ev_timer_set(&sc->poll, POLL_S, POLL_S);
    ev_timer_start(sc->sim->loop, &sc->poll);
}

/* Run one immediate step. */
static void exec_step(struct sim_script *sc, const struct step *st)
{
    struct qb_sim *s = sc->sim;
    int64_t rc = QB_OK;
    char what[400];
    switch (st->op) {
    case OP_GROUP:
        rc = qb_sim_add_group(s, st->a[0], st->text);
        break;
    case OP_MEMBER:
        rc = qb_sim_add_member(s, st->a[0], st->a[1], st->a[2], st->a[3]);
        break;
    case OP_MSG:
        rc = qb_sim_group_msg(s, st->a[0], st->a[1], st->text);
        break;
    case OP_PRIVATE:
        rc = qb_sim_private_msg(s, st->a[0], st->text);
        break;
    case OP_JOIN:
        rc = qb_sim_member_join(s, st->a[0], st->a[1], st->a[2], st->a[3]);
        break;
    case OP_LEAVE:
        rc = qb_sim_member_leave(s, st->a[0], st->a[1], st->a[2], st->a[3]);
        break;
    case OP_REQUEST:
        rc = qb_sim_join_request(s, st->a[0], st->a[1], st->text);
        break;
    case OP_FRIEND_REQUEST:
        rc = sim__friend_request(s, st->a[0], st->text);
        break;
    case OP_RECALL:
        rc = qb_sim_recall(s, st->a[0], st->a[1], st->n1, NULL);
        break;
    case OP_RAW:
        rc = qb_sim_send_raw(s, st->text, strlen(st->text));
        break;
    case OP_DROP:
        qb_sim_drop_connections(s);
        break;
    case OP_STOP:
        qb_sim_stop(s);
        break;
    case OP_START:
        rc = qb_sim_start(s);
        break;
    case OP_FAIL:
        qb_sim_fail_action(s, st->a[0], (int)st->n1, st->text, (int)st->n2);
        break;
    case OP_HANG:
        qb_sim_hang_action(s, st->a[0], (int)st->n2);
        break;
    case OP_ONLINE:
        qb_sim_set_online(s, st->n1 != 0);
        break;
    case OP_LOG:
        qb_log(QB_LOG_INFO, "%s:%d: %s", sc->file, st->line, st->text ? st->text : "");
        break;
    default:
        break;
    }
    if (rc < 0) {
        snprintf(what, sizeof what,
                 "this step could not run: %s (check the group, member or "
                 "message it names)",
                 qb_strerror((int)rc));
        fail_step(sc, st, what);
    }
}

static void script_run(struct sim_script *sc)
{
    struct ev_loop *loop = sc->sim->loop;
    while (!sc->waiting && sc->pc < sc->nsteps) {
        const struct step *st = &sc->steps[sc->pc];
        if (st->op == OP_WAIT) {
            sc->pc++;
            ev_timer_set(&sc->timer, (double)st->n1 / 1000.0, 0);
            ev_timer_start(loop, &sc->timer);
            return;
        }
        if (st->op == OP_EXPECT || st->op == OP_EXPECT_CONNECTED) {
            if (expect_holds(sc, st)) {
                sc->pc++;
                continue;
            }
            start_expect(sc, st);
            return;
        }
        if (st->op == OP_EXPECT_NONE) {
            start_expect(sc, st);
            return;
        }
        exec_step(sc, st);
        sc->pc++;
    }
    if (!sc->waiting && sc->pc >= sc->nsteps)
        sc->finished = true;
}

static int parse_file(struct sim_script *sc, FILE *f, char *err, size_t errlen)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0, rc = QB_OK;
    while (rc == QB_OK && (n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '#')
            continue;
        struct step *arr = realloc(sc->steps, (sc->nsteps + 1) * sizeof *arr);
        if (!arr) {
            rc = QB_ENOMEM;
            break;
        }
        sc->steps = arr;
        rc = parse_line(p, lineno, sc->file, &sc->steps[sc->nsteps], err, errlen);
        sc->nsteps++; /* parse_line always leaves a freeable step */
    }
    free(line);
    return rc;
}

int qb_sim_load_script(struct qb_sim *s, const char *path, char *err, size_t errlen)
{
    char ebuf[400] = "";
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot open script %s: %s", path, strerror(errno));
        return QB_EIO;
    }
    struct sim_script *sc = calloc(1, sizeof *sc);
    if (!sc) {
        fclose(f);
        return QB_ENOMEM;
    }
    sc->sim = s;
    sc->file = strdup(path);
    ev_init(&sc->timer, timer_cb);
    sc->timer.data = sc;
    ev_init(&sc->poll, poll_cb);
    sc->poll.data = sc;
    int rc = parse_file(sc, f, ebuf, sizeof ebuf);
    fclose(f);
    if (rc) {
        if (err && errlen)
            qb_strlcpy(err, *ebuf ? ebuf : qb_strerror(rc), errlen);
        sim__script_free(sc);
        return rc;
    }
    sim__script_free(s->script);
    s->script = sc;
    ev_timer_set(&sc->timer, 0, 0);
    ev_timer_start(s->loop, &sc->timer);
    return QB_OK;
}

bool qb_sim_script_finished(struct qb_sim *s)
{
    return !s->script || s->script->finished;
}

int qb_sim_script_failures(struct qb_sim *s)
{
    return s->script ? s->script->failures : 0;
}

/*
 * report.c — `qunbot report`: the engagement report of one group for a period, as a
 * self-contained HTML page, CSV, JSON or a short text summary, for an operator at the
 * terminal or a script.
 *
 * Opens the bot's database read-only (a running bot is not disturbed), checks that it holds
 * insight data for the group, computes the report (bot/insight) and writes it to stdout or,
 * atomically (temp file + rename), to --out. Errors are plain sentences on stderr: exit 2 for
 * anything the operator can fix (options, database, group), 1 for a failure while working.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <insight.h>

#include "core.h"

#define MAX_LISTED_GROUPS 10

static const char usage[] =
        "Usage: qunbot report --group ID [--since 30d] [--format html|csv|json|text]\n"
        "                     [--out FILE] [--db PATH] [--tz Asia/Shanghai]\n"
        "\n"
        "Writes the engagement report of one group: messages, active members, DAU/MAU,\n"
        "joins and leaves, activity by weekday and hour, member stages, retention of\n"
        "newcomers, top members and hot words. Reads the database only.\n"
        "  --group ID     the group number (required)\n"
        "  --since PERIOD the last 7d, 30d, 12w or 24h up to now (default 30d)\n"
        "  --format F     html (one page with charts, opens offline), csv (for Excel),\n"
        "                 json (for other tools) or text (a short summary); default: from the\n"
        "                 --out file name's ending, else text\n"
        "  --out FILE     write to FILE (replaced only once complete); default: the terminal\n"
        "  --db PATH      the bot's database (default: the one in --config, else qunbot.db)\n"
        "  --tz ZONE      time zone for days and hours (default Asia/Shanghai)\n";

enum format { FMT_NONE, FMT_HTML, FMT_CSV, FMT_JSON, FMT_TEXT };

struct report_opts {
    const char *group, *since, *out, *db, *tz;
    enum format fmt;
};

/* ------------------------------------------------------------------ options */

static enum format format_named(const char *s)
{
    if (!s)
        return FMT_NONE;
    if (!strcasecmp(s, "html") || !strcasecmp(s, "htm"))
        return FMT_HTML;
    if (!strcasecmp(s, "csv"))
        return FMT_CSV;
    if (!strcasecmp(s, "json"))
        return FMT_JSON;
    if (!strcasecmp(s, "text") || !strcasecmp(s, "txt"))
        return FMT_TEXT;
    return FMT_NONE;
}

static enum format format_of_file(const char *path)
{
    const char *dot = path ? strrchr(path, '.') : NULL;
    const char *slash = path ? strrchr(path, '/') : NULL;
    if (!dot || (slash && dot < slash))
        return FMT_NONE;
    return format_named(dot + 1);
}

/* An IANA zone the C library can load: "UTC" or a file under the zoneinfo folder. */
static bool tz_known(const char *tz)
{
    if (!strcmp(tz, "UTC"))
        return true;
    if (!*tz || tz[0] == '/' || strstr(tz, ".."))
        return false;
    const char *dir = getenv("TZDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", tz);
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int parse(struct report_opts *o, int argc, char **argv, const char *db_default)
{
    const char *format = NULL, *config = NULL; /* --config is read by main.c */
    o->since = "30d";
    o->tz = "Asia/Shanghai";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            exit(0);
        }
        const char **slot = !strcmp(a, "--group")    ? &o->group
                            : !strcmp(a, "--since")  ? &o->since
                            : !strcmp(a, "--format") ? &format
                            : !strcmp(a, "--out")    ? &o->out
                            : !strcmp(a, "--db")     ? &o->db
                            : !strcmp(a, "--tz")     ? &o->tz
                            : !strcmp(a, "--config") ? &config
                                                     : NULL;
        if (!slot) {
            fprintf(stderr, "qunbot report: unknown option %s\n%s", a, usage);
            return -1;
        }
        if (!v) {
            fprintf(stderr, "qunbot report: %s needs a value\n%s", a, usage);
            return -1;
        }
        *slot = v;
        i++;
    }
    (void)config;
    if (!o->group || !*o->group) {
        fprintf(stderr, "qunbot report: say which group with --group ID (the group number)\n");
        return -1;
    }
    o->fmt = format ? format_named(format) : format_of_file(o->out);
    if (format && o->fmt == FMT_NONE) {
        fprintf(stderr, "qunbot report: --format must be html, csv, json or text, not '%s'\n",
                format);
        return -1;
    }
    if (o->fmt == FMT_NONE)
        o->fmt = o->out ? FMT_HTML : FMT_TEXT;
    if (!tz_known(o->tz)) {
        fprintf(stderr,
                "qunbot report: unknown time zone '%s': use a name such as Asia/Shanghai or "
                "UTC\n",
                o->tz);
        return -1;
    }
    if (!o->db)
        o->db = db_default ? db_default : "qunbot.db";
    return 0;
}

/* ------------------------------------------------------------------ the database */

static bool table_exists(sqlite3 *db, const char *name)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", -1,
                           &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    bool yes = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return yes;
}

/* Open read-only and check it is a database with insight tables; 0 or an exit code. */
static int open_db(const char *path, sqlite3 **db)
{
    *db = NULL;
    if (access(path, R_OK) != 0) {
        fprintf(stderr,
                "qunbot report: cannot read the database %s (%s): give the bot's database "
                "with --db PATH\n",
                path, strerror(errno));
        return 2;
    }
    if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_exec(*db, "SELECT COUNT(*) FROM sqlite_master", NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "qunbot report: %s cannot be read as a qunbot database (%s)\n", path,
                *db ? sqlite3_errmsg(*db) : "out of memory");
        return 2;
    }
    /* map the file: a report over a big group then reads pages without a system call each */
    sqlite3_exec(*db, "PRAGMA mmap_size = 268435456", NULL, NULL, NULL);
    if (!table_exists(*db, "insight_activity") || !table_exists(*db, "insight_members")) {
        fprintf(stderr,
                "qunbot report: this database has no insight data yet: run the bot with the "
                "insight plugin on (%s)\n",
                path);
        return 2;
    }
    return 0;
}

static bool group_has_data(sqlite3 *db, const char *group)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT 1 FROM insight_members WHERE group_id = ?1 UNION ALL"
                           " SELECT 1 FROM insight_activity WHERE group_id = ?1 LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC);
    bool yes = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return yes;
}

/* The unknown-group message, naming up to MAX_LISTED_GROUPS groups that do have data. */
static void unknown_group(sqlite3 *db, const char *group)
{
    sqlite3_stmt *st = NULL;
    struct qb_buf b;
    qb_buf_init(&b);
    int n = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT group_id FROM insight_members UNION"
                           " SELECT group_id FROM insight_activity ORDER BY 1 LIMIT ?1",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int(st, 1, MAX_LISTED_GROUPS + 1);
        while (sqlite3_step(st) == SQLITE_ROW && ++n <= MAX_LISTED_GROUPS)
            qb_buf_printf(&b, "%s%s", n > 1 ? ", " : "", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    if (!n)
        fprintf(stderr,
                "qunbot report: no data for group %s: no group has insight data in this "
                "database yet (is the insight plugin on, and has anyone spoken?)\n",
                group);
    else
        fprintf(stderr,
                "qunbot report: no data for group %s in this database. Groups with data: "
                "%s%s. Check the number given to --group.\n",
                group, b.p ? b.p : "", n > MAX_LISTED_GROUPS ? " (and more)" : "");
    qb_buf_free(&b);
}

/* ------------------------------------------------------------------ output */

static int render(const struct qb_insight_report *rep, enum format fmt, FILE *f)
{
    switch (fmt) {
    case FMT_HTML:
        return qb_insight_render_html(rep, f);
    case FMT_CSV:
        return qb_insight_render_csv(rep, f);
    case FMT_JSON:
        return qb_insight_render_json(rep, f);
    default: {
        char *text = qb_insight_render_text(rep);
        int rc = text && fprintf(f, "%s\n", text) >= 0 && fflush(f) == 0 ? QB_OK : QB_EIO;
        free(text);
        return rc;
    }
    }
}

/* Write to a temp file next to path, then rename over it: readers never see half a report. */
static int write_atomic(const struct qb_insight_report *rep, enum format fmt, const char *path)
{
    size_t len = strlen(path) + sizeof ".XXXXXX";
    char *tmp = malloc(len);
    if (!tmp)
        return 1;
    snprintf(tmp, len, "%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        fprintf(stderr,
                "qunbot report: cannot write %s (%s): check the folder exists and is "
                "writable\n",
                path, strerror(errno));
        free(tmp);
        return 2;
    }
    fchmod(fd, 0644);
    FILE *f = fdopen(fd, "w");
    int rc = f ? render(rep, fmt, f) : QB_EIO;
    if (rc == QB_OK && fsync(fileno(f)) != 0)
        rc = QB_EIO;
    int saved = errno;
    if (f ? fclose(f) != 0 : close(fd) != 0)
        rc = rc == QB_OK ? QB_EIO : rc;
    if (rc == QB_OK && rename(tmp, path) != 0)
        rc = QB_EIO, saved = errno;
    if (rc != QB_OK) {
        unlink(tmp);
        fprintf(stderr, "qunbot report: writing %s failed (%s); nothing was replaced\n", path,
                rc == QB_ENOMEM ? "out of memory" : strerror(saved));
    }
    free(tmp);
    return rc == QB_OK ? 0 : 1;
}

static const char *format_word(enum format fmt)
{
    return fmt == FMT_HTML ? "HTML" : fmt == FMT_CSV ? "CSV" : fmt == FMT_JSON ? "JSON" : "text";
}

/* ------------------------------------------------------------------ main */

static int make_report(const struct report_opts *o, sqlite3 *db, const struct qb_insight_range *r)
{
    char err[512] = "";
    struct qb_insight_report rep;
    int rc = qb_insight_report(db, o->group, r, r->until_ms, &rep, err, sizeof err);
    if (rc != QB_OK) {
        fprintf(stderr, "qunbot report: the report could not be made: %s\n", err);
        return rc == QB_EINVAL || rc == QB_ENOENT ? 2 : 1;
    }
    int code = 0;
    if (o->out) {
        code = write_atomic(&rep, o->fmt, o->out);
        if (!code)
            printf("qunbot report: wrote the %s report of group %s (%zu days, %zu members) to "
                   "%s\n",
                   format_word(o->fmt), o->group, rep.n_days, rep.n_members, o->out);
    } else if (render(&rep, o->fmt, stdout) != QB_OK) {
        fprintf(stderr, "qunbot report: writing the report failed\n");
        code = 1;
    }
    qb_insight_report_free(&rep);
    return code;
}

int qb_report_main(int argc, char **argv, const char *db_default)
{
    struct report_opts o = {0};
    if (parse(&o, argc, argv, db_default))
        return 2;
    /* the period is checked before the database is opened, so a typo is reported first */
    struct qb_insight_range r;
    char err[512] = "";
    if (qb_insight_range_parse(o.since, qb_clock_now(), o.tz, &r, err, sizeof err) != QB_OK) {
        fprintf(stderr, "qunbot report: --since: %s\n", err);
        return 2;
    }
    sqlite3 *db = NULL;
    int code = open_db(o.db, &db);
    if (!code && !group_has_data(db, o.group)) {
        unknown_group(db, o.group);
        code = 2;
    }
    if (!code)
        code = make_report(&o, db, &r);
    sqlite3_close(db);
    return code;
}

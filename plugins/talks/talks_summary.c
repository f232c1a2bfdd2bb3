/*
 * talks_summary.c — a talk's summary for admins: the speakers' messages in order (text
 * only), the questions with answered marks and the attendance count, written as
 * talk-<id>.md and talk-<id>.html under qb_export_path (written to a temporary name and
 * renamed, so a reader never sees half a file).
 *
 * Owns nothing. All member text is HTML-escaped in the HTML file; in Markdown it is kept
 * as typed on one line (newlines folded), never interpreted by the bot.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "talks.h"

enum fmt { MD, HTML };

/* Member text: HTML-escaped, or for Markdown with line breaks folded to spaces. */
static void put_text(FILE *f, enum fmt k, const char *s)
{
    for (; s && *s; s++) {
        if (k == HTML && *s == '<')
            fputs("&lt;", f);
        else if (k == HTML && *s == '>')
            fputs("&gt;", f);
        else if (k == HTML && *s == '&')
            fputs("&amp;", f);
        else if (k == HTML && *s == '"')
            fputs("&quot;", f);
        else if (k == HTML && *s == '\'')
            fputs("&#39;", f);
        else if (*s == '\n' || *s == '\r')
            fputs(k == HTML ? "<br>" : " ", f);
        else
            fputc(*s, f);
    }
}

static const char *col(sqlite3_stmt *st, int i)
{
    const char *v = (const char *)sqlite3_column_text(st, i);
    return v ? v : "";
}

static void speaker_name(struct qb_ctx *c, int64_t talk, const char *id, char *out, size_t n)
{
    sqlite3_stmt *st = qb_stmt(c, "SELECT name FROM talks_attendance WHERE talk_id = ?"
                                  " AND user_id = ?");
    snprintf(out, n, "%s", id);
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, talk);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW && col(st, 0)[0])
        snprintf(out, n, "%s（%s）", col(st, 0), id);
    sqlite3_reset(st);
}

static void head(struct qb_ctx *c, FILE *f, enum fmt k, const struct talks_talk *t)
{
    char when[64], dur[64];
    talks_fmt_when(c, qb_timezone(c, t->group_id), t->start_ms, when, sizeof when);
    talks_fmt_dur(t->dur_ms, dur, sizeof dur);
    if (k == HTML) {
        fputs("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>", f);
        put_text(f, k, t->topic);
        fputs("</title></head>\n<body>\n<h1>分享纪要：", f);
        put_text(f, k, t->topic);
        fprintf(f, "</h1>\n<ul>\n<li>时间：%s（%s）</li>\n<li>主讲：", when, dur);
    } else {
        fputs("# 分享纪要：", f);
        put_text(f, k, t->topic);
        fprintf(f, "\n\n- 时间：%s（%s）\n- 主讲：", when, dur);
    }
    char ids[TALKS_SPEAKER_LEN], name[200], *save = NULL;
    snprintf(ids, sizeof ids, "%s", t->speakers);
    bool first = true;
    for (char *id = strtok_r(ids, ",", &save); id; id = strtok_r(NULL, ",", &save)) {
        speaker_name(c, t->id, id, name, sizeof name);
        fputs(first ? "" : "、", f);
        put_text(f, k, name);
        first = false;
    }
    int64_t people =
            talks_count(c, "SELECT COUNT(*) FROM talks_attendance WHERE talk_id = ?", t->id);
    int64_t qs = talks_count(c, "SELECT COUNT(*) FROM talks_questions WHERE talk_id = ?", t->id);
    int64_t done = talks_count(
            c, "SELECT COUNT(*) FROM talks_questions WHERE talk_id = ? AND answered = 1", t->id);
    if (k == HTML)
        fprintf(f,
                "</li>\n<li>群：%s</li>\n<li>参与人数：%lld</li>\n<li>提问：%lld 个（已答 %lld）"
                "</li>\n</ul>\n",
                t->group_id, (long long)people, (long long)qs, (long long)done);
    else
        fprintf(f, "\n- 群：%s\n- 参与人数：%lld\n- 提问：%lld 个（已答 %lld）\n", t->group_id,
                (long long)people, (long long)qs, (long long)done);
}

static void speech(struct qb_ctx *c, FILE *f, enum fmt k, const struct talks_talk *t)
{
    sqlite3_stmt *st = qb_stmt(c, "SELECT ts, name, user_id, text FROM talks_speech"
                                  " WHERE talk_id = ? ORDER BY seq");
    fputs(k == HTML ? "<h2>主讲内容</h2>\n<ol>\n" : "\n## 主讲内容\n\n", f);
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, t->id);
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct tm tm = {0};
        qb_localtime(c, qb_timezone(c, t->group_id), sqlite3_column_int64(st, 0), &tm);
        if (k == HTML)
            fprintf(f, "<li>%02d:%02d ", tm.tm_hour, tm.tm_min);
        else
            fprintf(f, "%d. %02d:%02d ", ++n, tm.tm_hour, tm.tm_min);
        put_text(f, k, col(st, 1)[0] ? col(st, 1) : col(st, 2));
        fputs("：", f);
        put_text(f, k, col(st, 3));
        fputs(k == HTML ? "</li>\n" : "\n", f);
    }
    sqlite3_reset(st);
    if (k == HTML)
        fputs("</ol>\n", f);
}

static void questions(struct qb_ctx *c, FILE *f, enum fmt k, const struct talks_talk *t)
{
    sqlite3_stmt *st = qb_stmt(c, "SELECT seq, name, user_id, text, answered FROM talks_questions"
                                  " WHERE talk_id = ? ORDER BY seq");
    fputs(k == HTML ? "<h2>问答</h2>\n<ol>\n" : "\n## 问答\n\n", f);
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, t->id);
    while (sqlite3_step(st) == SQLITE_ROW) {
        bool done = sqlite3_column_int(st, 4) != 0;
        if (k == HTML)
            fprintf(f, "<li value=\"%lld\">%s ", (long long)sqlite3_column_int64(st, 0),
                    done ? "✅ 已答" : "⬜ 未答");
        else
            fprintf(f, "%lld. [%s] ", (long long)sqlite3_column_int64(st, 0), done ? "x" : " ");
        put_text(f, k, col(st, 1)[0] ? col(st, 1) : col(st, 2));
        fputs("：", f);
        put_text(f, k, col(st, 3));
        fputs(k == HTML ? "</li>\n" : "\n", f);
    }
    sqlite3_reset(st);
    fputs(k == HTML ? "</ol>\n</body></html>\n" : "", f);
}

static int write_one(struct qb_ctx *c, const struct talks_talk *t, enum fmt k)
{
    char name[64], path[1024], tmp[1100];
    snprintf(name, sizeof name, "talk-%lld.%s", (long long)t->id, k == HTML ? "html" : "md");
    int rc = qb_export_path(c, name, path, sizeof path);
    if (rc != QB_OK)
        return rc;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return QB_EIO;
    head(c, f, k, t);
    speech(c, f, k, t);
    questions(c, f, k, t);
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad || rename(tmp, path) != 0) {
        remove(tmp);
        return QB_EIO;
    }
    return QB_OK;
}

int talks_write_summary(struct qb_ctx *c, const struct talks_talk *t)
{
    int rc = write_one(c, t, MD);
    if (rc == QB_OK)
        rc = write_one(c, t, HTML);
    if (rc != QB_OK)
        qb_log(QB_LOG_WARN, "talks: could not write the summary of talk %lld: %s", (long long)t->id,
               qb_strerror(rc));
    return rc;
}

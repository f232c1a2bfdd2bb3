/*
 * schedule_cron.c — the schedule plugin's reading of what managers write:
 * "<cron>|<name>|<text>" post entries and "HH:MM" times. The cron text itself is checked and
 * its next run computed by the core (qb_cron_check, qb_cron_next_ms in <qunbot/sched.h>), so
 * the plugin and the scheduler can never disagree. Owns nothing; pure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "schedule.h"

/* ---- entries and times ---- */

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}


static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* Copy [s, e) trimmed of ASCII blanks into out; false if it does not fit. */
static bool copy_trimmed(const char *s, const char *e, char *out, size_t n)
{
    while (s < e && is_blank(*s))
        s++;
    while (e > s && is_blank(e[-1]))
        e--;
    if ((size_t)(e - s) >= n)
        return false;
    memcpy(out, s, (size_t)(e - s));
    out[e - s] = '\0';
    return true;
}

int sch_post_parse(const char *entry, struct sch_post *out, char *why, size_t n)
{
    memset(out, 0, sizeof *out);
    const char *a = strchr(entry, '|');
    const char *b = a ? strchr(a + 1, '|') : NULL;
    if (!b) {
        snprintf(why, n,
                 "posts entry \"%.60s\" should be \"<time>|<name>|<text>\", like "
                 "\"0 8 * * *|每日话题|@topics\"",
                 entry);
        return QB_EINVAL;
    }
    if (!copy_trimmed(entry, a, out->cron, sizeof out->cron) ||
        !copy_trimmed(a + 1, b, out->name, sizeof out->name) || !out->name[0]) {
        snprintf(why, n, "posts entry \"%.60s\": the name is missing or longer than %d bytes",
                 entry, SCH_NAME_MAX - 1);
        return QB_EINVAL;
    }
    for (const char *p = out->name; *p; p++) {
        if (is_blank(*p)) {
            snprintf(why, n,
                     "posts entry \"%s\": the name cannot contain spaces (it is typed in "
                     "/schedule pause <name>)",
                     out->name);
            return QB_EINVAL;
        }
    }
    out->text = b + 1;
    while (is_blank(*out->text))
        out->text++;
    if (!out->text[0]) {
        snprintf(why, n, "posts entry \"%s\" has no text to post", out->name);
        return QB_EINVAL;
    }
    return QB_OK;
}

bool sch_post_find(const struct schedule_settings *s, const char *name, struct sch_post *out)
{
    char why[200];
    for (size_t i = 0; i < s->posts.n; i++)
        if (sch_post_parse(s->posts.v[i], out, why, sizeof why) == QB_OK &&
            !strcmp(out->name, name))
            return true;
    return false;
}

bool sch_hhmm(const char *s, int *minutes)
{
    if (!s || strlen(s) != 5 || s[2] != ':' || !is_digit(s[0]) || !is_digit(s[1]) ||
        !is_digit(s[3]) || !is_digit(s[4]))
        return false;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 23 || m > 59)
        return false;
    *minutes = h * 60 + m;
    return true;
}

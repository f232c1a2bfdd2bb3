/*
 * template.c — {placeholder} templates: checking against an allowed list and rendering.
 * Pure string code; the caller owns every result.
 */
#include <qunbot/template.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Find the placeholder starting at p (just after '{'): its length up to '}', or -1. */
static long name_len(const char *p)
{
    long n = 0;
    while (p[n] && p[n] != '}' && p[n] != '{' && n < 64)
        n++;
    return p[n] == '}' && n > 0 ? n : -1;
}

static bool allowed_has(const char *const *allowed, const char *name, size_t len)
{
    for (; allowed && *allowed; allowed++)
        if (strlen(*allowed) == len && !strncmp(*allowed, name, len))
            return true;
    return false;
}

int qb_template_check(const char *tpl, const char *const *allowed, char *why, size_t n)
{
    for (const char *p = tpl; p && *p; p++) {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            p++;
            continue;
        }
        if (*p != '{')
            continue;
        long len = name_len(p + 1);
        if (len < 0) {
            snprintf(why, n, "a '{' that is not closed by '}' (write {{ for a literal brace)");
            return QB_EINVAL;
        }
        if (!allowed_has(allowed, p + 1, (size_t)len)) {
            struct qb_buf b;
            qb_buf_init(&b);
            qb_buf_printf(&b, "unknown placeholder {%.*s}; allowed:", (int)len, p + 1);
            for (const char *const *a = allowed; a && *a; a++)
                qb_buf_printf(&b, "%s {%s}", a == allowed ? "" : ",", *a);
            if (!allowed || !*allowed)
                qb_buf_puts(&b, " none");
            snprintf(why, n, "%s", b.p ? b.p : "unknown placeholder");
            qb_buf_free(&b);
            return QB_EINVAL;
        }
        p += len + 1;
    }
    return QB_OK;
}

char *qb_template_render(const char *tpl, const struct qb_tvar *vars, size_t nvars)
{
    struct qb_buf b;
    qb_buf_init(&b);
    for (const char *p = tpl ? tpl : ""; *p; p++) {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            qb_buf_append(&b, p, 1);
            p++;
            continue;
        }
        long len = *p == '{' ? name_len(p + 1) : -1;
        const struct qb_tvar *v = NULL;
        for (size_t i = 0; len > 0 && i < nvars && !v; i++)
            if (strlen(vars[i].name) == (size_t)len && !strncmp(vars[i].name, p + 1, (size_t)len))
                v = &vars[i];
        if (v) {
            qb_buf_puts(&b, v->value ? v->value : "");
            p += len + 1;
        } else {
            qb_buf_append(&b, p, 1);
        }
    }
    return qb_buf_steal(&b);
}

/*
 * template.h — message templates community managers write in rules files:
 * "欢迎 {at} 加入{group}！" with {name} placeholders ("{{" and "}}" for literal braces).
 *
 * A settings field of type QB_CFG_TEMPLATE names its allowed placeholders, so
 * check-config rejects a template with an unknown one (with file:line:col).
 */
#ifndef QUNBOT_TEMPLATE_H
#define QUNBOT_TEMPLATE_H

#include "qunbot.h"

struct qb_tvar {
    const char *name;  /* without braces */
    const char *value; /* NULL renders as "" */
};

/* QB_OK if every placeholder in tpl is in allowed (NULL-terminated); else QB_EINVAL with a
 * reason like: unknown placeholder {nmae}; allowed: {name}, {streak}. */
int qb_template_check(const char *tpl, const char *const *allowed, char *why, size_t n);

/* Render tpl with vars. Unknown placeholders stay as written. Caller frees. NULL on ENOMEM. */
char *qb_template_render(const char *tpl, const struct qb_tvar *vars, size_t nvars);

#endif

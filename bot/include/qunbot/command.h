/*
 * command.h — chat commands a plugin offers (签到, /checkin, 排行 ...).
 *
 * The host matches a message against every enabled plugin's commands: the name with
 * one of the configured prefixes ("/" by default, so "/help"), or any alias with or
 * without a prefix ("帮助"). It checks the sender's role before calling run.
 */
#ifndef QUNBOT_COMMAND_H
#define QUNBOT_COMMAND_H

#include "event.h"

struct qb_ctx;

#define QB_CMD_MAXARGS 16

/* Parsed arguments. Borrowed for the callback. */
struct qb_cmd_args {
    const char *name; /* the command's canonical name */
    const char *used; /* the word the member typed ("签到", "/checkin") */
    const char *rest; /* everything after the command word, trimmed ("" if none) */
    int argc;         /* words in rest, split on white space */
    const char *argv[QB_CMD_MAXARGS];
};

/* A run callback returns QB_HANDLED, or QB_PASS to let later plugins see the message. */
struct qb_command {
    const char *name;           /* "help": matched as <prefix>help */
    const char *const *aliases; /* NULL-terminated, matched bare or with a prefix; may be NULL */
    const char *usage;          /* "/rank [day|week|month|all]" */
    const char *help;           /* one line, in the members' language */
    enum qb_role min_role; /* QB_ROLE_MEMBER, QB_ROLE_ADMIN, QB_ROLE_OWNER, QB_ROLE_SUPERUSER */
    bool group_only;       /* refuse in private chat */
    enum qb_role shown_to; /* 帮助 lists it from this role up; 0 = min_role (for commands that
                            * check roles themselves, like 同意) */
    int (*run)(struct qb_ctx *c, const struct qb_event *ev, const struct qb_cmd_args *a);
};

#endif

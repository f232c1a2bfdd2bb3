/*
 * test_event.c — the event model: message builders, the plain-text view used for logs,
 * search and keyword matching, deep copies, and the lifetimes of events and actions.
 * Leaks and double frees show up under -DQB_SANITIZE=ON.
 * link: qb_model
 */
#include <stdlib.h>

#include <qunbot/action.h>
#include <qunbot/cfg.h>
#include <qunbot/event.h>

#include "test.h"

TEST(builders_and_plain_view)
{
    struct qb_msg m;
    qb_msg_init(&m);
    CHECK_INT(qb_msg_reply(&m, "918"), QB_OK);
    CHECK_INT(qb_msg_at(&m, "20002"), QB_OK);
    CHECK_INT(qb_msg_text(&m, " 签到成功，第"), QB_OK);
    CHECK_INT(qb_msg_textf(&m, "%d 天 ", 12), QB_OK);
    CHECK_INT(qb_msg_at(&m, "all"), QB_OK);
    CHECK_INT(qb_msg_image(&m, "https://h/x.png"), QB_OK);
    CHECK_INT(m.n, 6);
    CHECK_INT(qb_msg_finish(&m), QB_OK);
    CHECK_STR(m.plain, "@20002 签到成功，第12 天 @全体成员[图片]");
    CHECK_STR(m.segs[5].url, "https://h/x.png");
    CHECK_STR(m.segs[5].file, "https://h/x.png");
    CHECK_STR(m.segs[0].type_name, "reply");
    qb_msg_clear(&m);
    CHECK_INT(m.n, 0);
    CHECK(m.plain == NULL);
    /* a cleared message is reusable */
    CHECK_INT(qb_msg_image(&m, "/tmp/local.png"), QB_OK);
    CHECK(m.segs[0].url == NULL);
    CHECK_STR(m.segs[0].file, "/tmp/local.png");
    qb_msg_clear(&m);
    qb_msg_clear(NULL);
}

TEST(plain_view_of_every_segment_type)
{
    static const struct {
        enum qb_seg_type type;
        const char *type_name;
        int flags;
        const char *plain;
    } cases[] = {
            {QB_SEG_FACE, NULL, 0, "[表情]"},
            {QB_SEG_IMAGE, NULL, 0, "[图片]"},
            {QB_SEG_IMAGE, "mface", QB_SEGF_STICKER, "[动画表情]"},
            {QB_SEG_RECORD, NULL, 0, "[语音]"},
            {QB_SEG_VIDEO, NULL, 0, "[视频]"},
            {QB_SEG_FILE, NULL, 0, "[文件]"},
            {QB_SEG_FORWARD, NULL, 0, "[聊天记录]"},
            {QB_SEG_JSON, NULL, 0, "[卡片]"},
            {QB_SEG_XML, NULL, 0, "[卡片]"},
            {QB_SEG_SHARE, NULL, 0, "[链接]"},
            {QB_SEG_REPLY, NULL, 0, ""},
            {QB_SEG_UNKNOWN, "dice", 0, "[dice]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct qb_msg m;
        qb_msg_init(&m);
        struct qb_seg *s = qb_msg_add(&m, cases[i].type, cases[i].type_name, "x", NULL, NULL);
        CHECK(s != NULL);
        if (s)
            s->flags = cases[i].flags;
        CHECK_INT(qb_msg_finish(&m), QB_OK);
        CHECK_STR(m.plain, cases[i].plain);
        qb_msg_clear(&m);
    }
    struct qb_msg empty;
    qb_msg_init(&empty);
    CHECK_INT(qb_msg_finish(&empty), QB_OK);
    CHECK_STR(empty.plain, "");
    qb_msg_clear(&empty);
}

TEST(copy_and_text_only)
{
    struct qb_msg a, b;
    qb_msg_init(&a);
    qb_msg_init(&b);
    qb_msg_text(&a, "hello ");
    qb_msg_at(&a, "1");
    struct qb_seg *u = qb_msg_add(&a, QB_SEG_UNKNOWN, "dice", NULL, NULL, NULL);
    u->raw = strdup("{\"result\":4}");
    u->flags = 0;
    struct qb_seg *img = qb_msg_add(&a, QB_SEG_IMAGE, "mface", NULL, "https://h/s.gif", NULL);
    img->flags = QB_SEGF_STICKER;
    qb_msg_text(&a, "world");
    qb_msg_finish(&a);
    qb_msg_text(&b, "old contents are replaced");
    CHECK_INT(qb_msg_copy(&b, &a), QB_OK);
    CHECK_INT(b.n, 5);
    CHECK_STR(b.plain, "hello @1[dice][动画表情]world");
    CHECK_STR(b.segs[2].raw, "{\"result\":4}");
    CHECK_STR(b.segs[3].type_name, "mface");
    CHECK_INT(b.segs[3].flags, QB_SEGF_STICKER);
    CHECK(b.segs[0].text != a.segs[0].text);
    qb_msg_clear(&a); /* the copy owns its own strings */
    char *t = qb_msg_text_only(&b);
    CHECK_STR(t, "hello world");
    free(t);
    qb_msg_clear(&b);
}

TEST(names)
{
    CHECK_STR(qb_seg_type_name(QB_SEG_TEXT), "text");
    CHECK_STR(qb_seg_type_name(QB_SEG_SHARE), "share");
    CHECK_STR(qb_seg_type_name((enum qb_seg_type)99), "unknown");
    CHECK_STR(qb_event_kind_name(QB_EV_MEMBER_JOIN), "member_join");
    CHECK_STR(qb_event_kind_name(QB_EV_SCHEDULE), "schedule");
    CHECK_STR(qb_event_kind_name(QB_EV__COUNT), "unknown");
    for (int k = 0; k < QB_EV__COUNT; k++)
        CHECK(strcmp(qb_event_kind_name((enum qb_event_kind)k), "unknown") != 0 ||
              k == QB_EV_UNKNOWN);
    for (int k = 0; k < QB_ACT__COUNT; k++)
        CHECK(strcmp(qb_action_kind_name((enum qb_action_kind)k), "unknown") != 0);
    CHECK_STR(qb_action_kind_name(QB_ACT_HANDLE_REQUEST), "handle_request");
    CHECK_STR(qb_role_name(QB_ROLE_OWNER), "owner");
    CHECK_STR(qb_role_name(QB_ROLE_SUPERUSER), "superuser");
    CHECK_STR(qb_role_name((enum qb_role)42), "unknown");
}

TEST(event_lifetime)
{
    struct qb_event ev;
    qb_event_init(&ev);
    CHECK(ev.text == NULL);
    CHECK_INT(ev.msg.n, 0);
    ev.kind = QB_EV_CARD_CHANGE;
    ev.text = strdup("new card");
    qb_msg_text(&ev.msg, "x");
    qb_event_clear(&ev);
    CHECK(ev.text == NULL);
    CHECK_INT(ev.msg.n, 0);
    CHECK_INT(ev.kind, QB_EV_MESSAGE);
    qb_event_clear(&ev); /* clearing twice is safe */
    qb_event_clear(NULL);
}

TEST(action_lifetime)
{
    struct qb_action *a = qb_action_new(QB_ACT_KICK);
    CHECK(a != NULL);
    if (!a)
        return;
    CHECK_INT(a->kind, QB_ACT_KICK);
    CHECK_STR(a->group_id, "");
    CHECK(!a->enable && a->text == NULL && a->msg.n == 0);
    a->text = strdup("t");
    a->reason = strdup("spam links");
    qb_msg_text(&a->msg, "bye");
    qb_action_free(a); /* ASan reports anything left behind */
    qb_action_free(NULL);
}

TEST(strlist_has)
{
    char *v[] = {"10001", "20002"};
    struct qb_strlist l = {v, 2};
    CHECK(qb_strlist_has(&l, "20002"));
    CHECK(!qb_strlist_has(&l, "2000"));
    CHECK(!qb_strlist_has(&l, NULL));
    CHECK(!qb_strlist_has(NULL, "10001"));
    struct qb_strlist none = {NULL, 0};
    CHECK(!qb_strlist_has(&none, "10001"));
}

int main(void)
{
    RUN(builders_and_plain_view);
    RUN(plain_view_of_every_segment_type);
    RUN(copy_and_text_only);
    RUN(names);
    RUN(event_lifetime);
    RUN(action_lifetime);
    RUN(strlist_has);
    return test_done();
}

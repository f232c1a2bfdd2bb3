/*
 * test_onebot11.c — the OneBot v11 adapter against NapCat/LLOneBot-shaped frames in
 * tests/fixtures/onebot11: every event kind, responses, request formatting (checked by
 * parsing the output back), result mapping, history back-fill, hostile input, and
 * test_onebot11_robustness (every fixture truncated and byte-flipped; run under ASan).
 * Runs with the repo root as working directory.
 * link: qb_model
 */
#include <dirent.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "net/adapter.h"
#include "test.h"
#include "util/util.h"

#define FIX "tests/fixtures/onebot11/"

static const struct qb_adapter_ops *const ob = &qb_onebot11;

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    if (p) {
        p[n] = '\0';
        *len = (size_t)n;
    }
    return p;
}

/* Parse a fixture into f; checks that it parsed. */
static int load(const char *name, struct qb_frame *f)
{
    char path[256], err[200] = "";
    size_t len = 0;
    snprintf(path, sizeof path, FIX "%s.json", name);
    char *buf = slurp(path, &len);
    qb_frame_init(f);
    if (!buf) {
        fprintf(stderr, "cannot read %s (run from the repository root)\n", path);
        test_failed_checks++;
        return QB_EIO;
    }
    int rc = ob->parse(buf, len, f, err, sizeof err);
    free(buf);
    if (rc != QB_OK)
        fprintf(stderr, "%s: %s\n", name, err);
    CHECK_INT(rc, QB_OK);
    return rc;
}

static int parse_str(const char *s, struct qb_frame *f, char *err, size_t errlen)
{
    qb_frame_init(f);
    return ob->parse(s, strlen(s), f, err, errlen);
}

/* ---- messages ---- */

TEST(group_message_array)
{
    struct qb_frame f;
    if (load("msg_group_array", &f) == QB_OK) {
        struct qb_event *ev = &f.ev;
        CHECK_INT(f.type, QB_FRAME_EVENT);
        CHECK_INT(ev->kind, QB_EV_MESSAGE);
        CHECK_STR(ev->name, "message");
        CHECK_STR(ev->sub_type, "normal");
        CHECK_INT(ev->chat, QB_CHAT_GROUP);
        CHECK_STR(ev->platform, "qq");
        CHECK_INT(ev->time_ms, 1718000000000LL);
        CHECK_STR(ev->self_id, "10001");
        CHECK_STR(ev->group_id, "123456");
        CHECK_STR(ev->user_id, "20002");
        CHECK_STR(ev->message_id, "918379735");
        CHECK_STR(ev->sender_name, "Alice@Ops");
        CHECK_INT(ev->sender_role, QB_ROLE_ADMIN);
        CHECK(!ev->backfilled);
        CHECK_INT(ev->msg.n, 7);
        CHECK_STR(ev->msg.plain, "@10001 check in [x] a&b,c [表情][动画表情][图片]@全体成员");
        if (ev->msg.n == 7) {
            CHECK_INT(ev->msg.segs[0].type, QB_SEG_REPLY);
            CHECK_STR(ev->msg.segs[0].text, "918379700");
            CHECK_INT(ev->msg.segs[3].type, QB_SEG_FACE);
            CHECK_STR(ev->msg.segs[3].text, "14");
            CHECK_INT(ev->msg.segs[4].flags, QB_SEGF_STICKER);
            CHECK_STR(ev->msg.segs[4].file, "a1b2.png");
            CHECK_INT(ev->msg.segs[5].flags, 0);
            CHECK_STR(ev->msg.segs[5].url, "https://h/x.png?a=1&b=2");
        }
    }
    qb_frame_clear(&f);
}

static void check_same_msg(const struct qb_msg *a, const struct qb_msg *b)
{
    CHECK_INT(a->n, b->n);
    for (size_t i = 0; i < a->n && i < b->n; i++) {
        CHECK_INT(a->segs[i].type, b->segs[i].type);
        CHECK_STR(a->segs[i].type_name, b->segs[i].type_name);
        CHECK_INT(a->segs[i].flags, b->segs[i].flags);
        if (a->segs[i].text || b->segs[i].text)
            CHECK_STR(a->segs[i].text, b->segs[i].text);
        if (a->segs[i].url || b->segs[i].url)
            CHECK_STR(a->segs[i].url, b->segs[i].url);
        if (a->segs[i].file || b->segs[i].file)
            CHECK_STR(a->segs[i].file, b->segs[i].file);
    }
    CHECK_STR(a->plain, b->plain);
}

TEST(string_format_gives_the_same_message)
{
    struct qb_frame a, b;
    if (load("msg_group_array", &a) == QB_OK && load("msg_group_string", &b) == QB_OK)
        check_same_msg(&a.ev.msg, &b.ev.msg);
    qb_frame_clear(&a);
    qb_frame_clear(&b);
}

TEST(private_and_self_messages)
{
    struct qb_frame f;
    if (load("msg_private", &f) == QB_OK) {
        CHECK_INT(f.ev.kind, QB_EV_MESSAGE);
        CHECK_INT(f.ev.chat, QB_CHAT_PRIVATE);
        CHECK_STR(f.ev.sub_type, "friend");
        CHECK_STR(f.ev.user_id, "20003"); /* ids given as strings */
        CHECK_STR(f.ev.message_id, "-2147000001");
        CHECK_STR(f.ev.group_id, "");
        CHECK_STR(f.ev.sender_name, "Bob"); /* no card: the nickname */
        CHECK_INT(f.ev.sender_role, QB_ROLE_UNKNOWN);
        CHECK_STR(f.ev.msg.plain, "你好，机器人");
    }
    qb_frame_clear(&f);
    if (load("msg_sent", &f) == QB_OK) {
        CHECK_INT(f.ev.kind, QB_EV_MESSAGE_SELF);
        CHECK_STR(f.ev.name, "message_sent");
        CHECK_STR(f.ev.sender_name, "Bot"); /* empty card: the nickname */
        CHECK_STR(f.ev.msg.plain, "done");
    }
    qb_frame_clear(&f);
    if (load("msg_single_object", &f) == QB_OK) {
        CHECK_INT(f.ev.chat, QB_CHAT_PRIVATE);
        CHECK_STR(f.ev.sub_type, "group");
        CHECK_INT(f.ev.msg.n, 1);
        CHECK_STR(f.ev.msg.plain, "temp chat");
    }
    qb_frame_clear(&f);
}

TEST(every_segment_type)
{
    struct qb_frame f;
    if (load("msg_segments", &f) == QB_OK) {
        const struct qb_msg *m = &f.ev.msg;
        CHECK_INT(f.ev.sender_role, QB_ROLE_OWNER);
        CHECK_STR(m->plain, "[语音][视频][文件][聊天记录][卡片][卡片][卡片][链接][动画表情][dice]["
                            "markdown][shake]");
        CHECK_INT(m->n, 12);
        if (m->n == 12) {
            CHECK_INT(m->segs[0].type, QB_SEG_RECORD);
            CHECK_STR(m->segs[0].url, "https://h/v.amr");
            CHECK_INT(m->segs[1].type, QB_SEG_VIDEO);
            CHECK_STR(m->segs[1].file, "m.mp4");
            CHECK_INT(m->segs[2].type, QB_SEG_FILE);
            CHECK_STR(m->segs[2].text, "报告.pdf");
            CHECK_STR(m->segs[2].file, "f1");
            CHECK_INT(m->segs[3].type, QB_SEG_FORWARD);
            CHECK_STR(m->segs[3].text, "7391234");
            CHECK_INT(m->segs[4].type, QB_SEG_JSON);
            CHECK_STR(m->segs[4].text, "{\"app\":\"com.tencent.miniapp\"}");
            CHECK_STR(m->segs[5].text, "{\"app\":\"x\",\"n\":1}"); /* object data: compact JSON */
            CHECK_INT(m->segs[6].type, QB_SEG_XML);
            CHECK_STR(m->segs[6].text, "<msg/>");
            CHECK_INT(m->segs[7].type, QB_SEG_SHARE);
            CHECK_STR(m->segs[7].url, "https://example.org/a");
            CHECK_STR(m->segs[7].text, "An article");
            CHECK_INT(m->segs[8].type, QB_SEG_IMAGE);
            CHECK_STR(m->segs[8].type_name, "mface");
            CHECK_INT(m->segs[8].flags, QB_SEGF_STICKER);
            CHECK_INT(m->segs[9].type, QB_SEG_UNKNOWN);
            CHECK_STR(m->segs[9].type_name, "dice");
            CHECK_STR(m->segs[9].raw, "{\"result\":4}");
            CHECK_STR(m->segs[10].raw, "{\"content\":\"**hi**\"}");
            CHECK_STR(m->segs[11].raw, "null");
        }
    }
    qb_frame_clear(&f);
}

/* ---- notices, requests, meta ---- */

struct expect {
    const char *fixture;
    enum qb_event_kind kind;
    const char *name, *sub_type;
    enum qb_chat chat;
    const char *group_id, *user_id, *operator_id, *target_id, *message_id, *text;
};

static const struct expect expects[] = {
        {"notice_group_increase", QB_EV_MEMBER_JOIN, "group_increase", "invite", QB_CHAT_GROUP,
         "123456", "30001", "20002", "", "", NULL},
        {"notice_group_decrease", QB_EV_MEMBER_LEAVE, "group_decrease", "kick", QB_CHAT_GROUP,
         "123456", "30002", "20002", "", "", NULL},
        {"notice_group_recall", QB_EV_RECALL, "group_recall", "", QB_CHAT_GROUP, "123456", "20002",
         "20004", "", "918379735", NULL},
        {"notice_friend_recall", QB_EV_RECALL, "friend_recall", "", QB_CHAT_PRIVATE, "", "20003",
         "", "", "1234", NULL},
        {"notice_group_ban", QB_EV_MUTE, "group_ban", "ban", QB_CHAT_GROUP, "123456", "30003",
         "20002", "", "", NULL},
        {"notice_group_ban_all", QB_EV_MUTE, "group_ban", "ban", QB_CHAT_GROUP, "123456", "0",
         "20004", "", "", NULL},
        {"notice_group_admin", QB_EV_ADMIN_CHANGE, "group_admin", "set", QB_CHAT_GROUP, "123456",
         "20002", "", "", "", NULL},
        {"notice_group_upload", QB_EV_NOTICE, "group_upload", "", QB_CHAT_GROUP, "123456", "20002",
         "", "", "", "规则.docx"},
        {"notice_essence", QB_EV_NOTICE, "essence", "add", QB_CHAT_GROUP, "123456", "20002",
         "20004", "", "918379735", NULL},
        {"notice_poke", QB_EV_POKE, "poke", "poke", QB_CHAT_GROUP, "123456", "20002", "", "10001",
         "", NULL},
        {"notice_poke_private", QB_EV_POKE, "poke", "poke", QB_CHAT_PRIVATE, "", "20003", "",
         "10001", "", NULL},
        {"notice_honor", QB_EV_NOTICE, "honor", "honor", QB_CHAT_GROUP, "123456", "20002", "", "",
         "", "talkative"},
        {"notice_lucky_king", QB_EV_NOTICE, "lucky_king", "lucky_king", QB_CHAT_GROUP, "123456",
         "20002", "", "20004", "", NULL},
        {"notice_title", QB_EV_NOTICE, "title", "title", QB_CHAT_GROUP, "123456", "20002", "", "",
         "", "元老"},
        {"notice_group_name", QB_EV_NOTICE, "group_name", "group_name", QB_CHAT_GROUP, "123456",
         "20004", "", "", "", "新群名"},
        {"notice_group_card", QB_EV_CARD_CHANGE, "group_card", "", QB_CHAT_GROUP, "123456", "20002",
         "", "", "", "Alice | 运营"},
        {"notice_friend_add", QB_EV_FRIEND_ADD, "friend_add", "", QB_CHAT_PRIVATE, "", "20006", "",
         "", "", NULL},
        {"notice_bot_offline", QB_EV_BOT_OFFLINE, "bot_offline", "", QB_CHAT_NONE, "", "10001", "",
         "", "", "账号在其他设备登录"},
        {"notice_unknown", QB_EV_UNKNOWN, "group_todo", "", QB_CHAT_GROUP, "123456", "20002", "",
         "", "", NULL},
        {"notify_unknown", QB_EV_UNKNOWN, "future_thing", "future_thing", QB_CHAT_GROUP, "123456",
         "20002", "", "", "", NULL},
        {"request_group_add", QB_EV_JOIN_REQUEST, "group", "add", QB_CHAT_GROUP, "123456", "40001",
         "", "", "", "答案: 蓝色"},
        {"request_group_invite", QB_EV_GROUP_INVITE, "group", "invite", QB_CHAT_GROUP, "654321",
         "20002", "", "", "", ""},
        {"request_friend", QB_EV_FRIEND_REQUEST, "friend", "", QB_CHAT_PRIVATE, "", "40002", "", "",
         "", "我是群友"},
        {"meta_lifecycle", QB_EV_LIFECYCLE, "lifecycle", "connect", QB_CHAT_NONE, "", "", "", "",
         "", NULL},
        {"meta_heartbeat", QB_EV_HEARTBEAT, "heartbeat", "", QB_CHAT_NONE, "", "", "", "", "",
         NULL},
        {"unknown_post_type", QB_EV_UNKNOWN, "message_reaction", "", QB_CHAT_GROUP, "123456",
         "20002", "", "", "", NULL},
};

TEST(every_event_kind)
{
    for (size_t i = 0; i < sizeof expects / sizeof expects[0]; i++) {
        const struct expect *x = &expects[i];
        struct qb_frame f;
        test_current = x->fixture;
        if (load(x->fixture, &f) == QB_OK) {
            const struct qb_event *ev = &f.ev;
            CHECK_INT(f.type, QB_FRAME_EVENT);
            CHECK_INT(ev->kind, x->kind);
            CHECK_STR(ev->name, x->name);
            CHECK_STR(ev->sub_type, x->sub_type);
            CHECK_INT(ev->chat, x->chat);
            CHECK_STR(ev->self_id, "10001");
            CHECK_INT(ev->time_ms, 1718000000000LL);
            CHECK_STR(ev->group_id, x->group_id);
            CHECK_STR(ev->user_id, x->user_id);
            CHECK_STR(ev->operator_id, x->operator_id);
            CHECK_STR(ev->target_id, x->target_id);
            CHECK_STR(ev->message_id, x->message_id);
            if (x->text)
                CHECK_STR(ev->text, x->text);
            else
                CHECK(ev->text == NULL);
            CHECK_INT(ev->msg.n, 0);
        }
        qb_frame_clear(&f);
    }
    test_current = "every_event_kind";
}

TEST(event_details)
{
    struct qb_frame f;
    if (load("notice_group_ban", &f) == QB_OK)
        CHECK_INT(f.ev.duration_s, 600);
    qb_frame_clear(&f);
    if (load("notice_group_ban_all", &f) == QB_OK)
        CHECK_INT(f.ev.duration_s, -1);
    qb_frame_clear(&f);
    if (load("request_group_add", &f) == QB_OK)
        CHECK_STR(f.ev.flag, "1718000000123456");
    qb_frame_clear(&f);
    if (load("request_friend", &f) == QB_OK)
        CHECK_STR(f.ev.flag, "friend-flag-9");
    qb_frame_clear(&f);
    if (load("meta_heartbeat", &f) == QB_OK) {
        CHECK_INT(f.ev.interval_ms, 30000);
        CHECK(f.ev.online);
    }
    qb_frame_clear(&f);
    if (load("meta_heartbeat_offline", &f) == QB_OK) {
        CHECK_INT(f.ev.interval_ms, 60000);
        CHECK(!f.ev.online);
    }
    qb_frame_clear(&f);
    /* a heartbeat without status counts as online */
    char err[200];
    CHECK_INT(parse_str("{\"post_type\":\"meta_event\",\"meta_event_type\":\"heartbeat\"}", &f, err,
                        sizeof err),
              QB_OK);
    CHECK(f.ev.online);
    qb_frame_clear(&f);
}

/* ---- responses ---- */

TEST(responses)
{
    struct qb_frame f;
    char err[200];
    if (load("resp_send_ok", &f) == QB_OK) {
        CHECK_INT(f.type, QB_FRAME_RESPONSE);
        CHECK_STR(f.echo, "42");
        CHECK(f.ok);
        CHECK_INT(f.retcode, 0);
        CHECK_STR(f.detail, "");
    }
    qb_frame_clear(&f);
    if (load("resp_failed", &f) == QB_OK) {
        CHECK(!f.ok);
        CHECK_INT(f.retcode, 1200);
        CHECK_STR(f.echo, "1043");
        CHECK(strstr(f.detail, "sendMsg") != NULL);
    }
    qb_frame_clear(&f);
    if (load("resp_auth_failed", &f) == QB_OK) {
        CHECK_INT(f.type, QB_FRAME_RESPONSE);
        CHECK_STR(f.echo, "");
        CHECK_INT(f.retcode, 1403);
        CHECK_STR(f.detail, "token验证失败");
    }
    qb_frame_clear(&f);
    static const struct {
        const char *json, *echo;
        bool ok;
        int retcode;
        const char *detail;
    } cases[] = {
            {"{\"status\":\"ok\",\"echo\":17}", "17", true, 0, ""},
            {"{\"status\":\"async\",\"retcode\":1,\"echo\":null}", "", true, 1, ""},
            {"{\"status\":\"failed\",\"echo\":[1,\"a\"]}", "[1,\"a\"]", false, -1, ""},
            {"{\"status\":\"failed\",\"retcode\":1404,\"message\":\"\",\"wording\":\"不支持的API\","
             "\"echo\":\"x\"}",
             "x", false, 1404, "不支持的API"},
            {"{\"status\":\"ok\",\"retcode\":1400,\"echo\":true}", "true", false, 1400, ""},
            {"{\"retcode\":0,\"echo\":\"e\"}", "e", true, 0, ""},
            {"{\"status\":7,\"retcode\":\"x\",\"echo\":{}}", "{}", false, -1, ""},
            {"{}", "", false, -1, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_INT(parse_str(cases[i].json, &f, err, sizeof err), QB_OK);
        CHECK_INT(f.type, QB_FRAME_RESPONSE);
        CHECK_STR(f.echo, cases[i].echo);
        CHECK_INT(f.ok, cases[i].ok);
        CHECK_INT(f.retcode, cases[i].retcode);
        CHECK_STR(f.detail, cases[i].detail);
        qb_frame_clear(&f);
    }
}

/* ---- hostile input ---- */

TEST(malformed_input_is_an_error)
{
    struct qb_frame f;
    char err[200];
    static const struct {
        const char *json;
        int rc;
        const char *err;
    } cases[] = {
            {"", QB_EPARSE, "the frame is empty"},
            {"{\"post_type\":\"message\",\"message\":[", QB_EPARSE, "malformed JSON at byte 33"},
            {"{\"a\":1} x", QB_EPARSE, "malformed JSON at byte 8"},
            {"{\"a\":1}\n", QB_OK, ""},
            {"nope", QB_EPARSE, "malformed JSON at byte 0"},
            {"[1,2]", QB_EINVAL, "the frame is an array, not a JSON object"},
            {"\"hi\"", QB_EINVAL, "the frame is a string, not a JSON object"},
            {"42", QB_EINVAL, "the frame is a number, not a JSON object"},
            {"null", QB_EINVAL, "the frame is null, not a JSON object"},
            {"{\"echo\":\"\xff\"}", QB_EPARSE, "frame is not valid UTF-8"},
            {"{\"echo\":\"\xed\xa0\x80\"}", QB_EPARSE, "frame is not valid UTF-8"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        CHECK_INT(parse_str(cases[i].json, &f, err, sizeof err), cases[i].rc);
        if (cases[i].rc != QB_OK) {
            CHECK_STR(err, cases[i].err);
            CHECK_INT(f.type, QB_FRAME_NONE);
        }
        qb_frame_clear(&f);
    }
    /* a buffer that is not NUL-terminated, cut inside a string */
    const char *s = "{\"echo\":\"abcdef\"}";
    char *cut = malloc(12);
    memcpy(cut, s, 12);
    CHECK_INT(ob->parse(cut, 12, &f, err, sizeof err), QB_EPARSE);
    free(cut);
    qb_frame_clear(&f);
}

TEST(wrong_types_read_as_absent)
{
    struct qb_frame f;
    char err[200];
    CHECK_INT(parse_str("{\"time\":\"x\",\"self_id\":[],\"post_type\":\"message\","
                        "\"message_type\":\"group\",\"group_id\":{},\"user_id\":1.5,"
                        "\"message_id\":1e300,\"sender\":\"Alice\",\"message\":42,"
                        "\"raw_message\":{}}",
                        &f, err, sizeof err),
              QB_OK);
    CHECK_INT(f.ev.kind, QB_EV_MESSAGE);
    CHECK_INT(f.ev.time_ms, 0);
    CHECK_STR(f.ev.self_id, "");
    CHECK_STR(f.ev.group_id, "");
    CHECK_STR(f.ev.user_id, "");
    CHECK_STR(f.ev.message_id, "");
    CHECK_STR(f.ev.sender_name, "");
    CHECK_INT(f.ev.msg.n, 0);
    CHECK_STR(f.ev.msg.plain, "");
    qb_frame_clear(&f);
    /* segments of the wrong shape are skipped or kept as unknown, never crash */
    CHECK_INT(parse_str("{\"post_type\":\"message\",\"message_type\":\"group\",\"message\":"
                        "[1,null,{\"type\":7},{\"type\":\"text\",\"data\":{\"text\":5}},"
                        "{\"type\":\"at\",\"data\":[]},{\"type\":\"image\",\"data\":\"x\"},"
                        "{\"type\":\"text\"}]}",
                        &f, err, sizeof err),
              QB_OK);
    CHECK_INT(f.ev.msg.n, 4);
    CHECK_STR(f.ev.msg.plain, "5@[图片]");
    qb_frame_clear(&f);
    /* post_type of another type is no post_type: an (unmatched) response */
    CHECK_INT(parse_str("{\"post_type\":1}", &f, err, sizeof err), QB_OK);
    CHECK_INT(f.type, QB_FRAME_RESPONSE);
    qb_frame_clear(&f);
    /* an unknown message_type is kept as unknown */
    CHECK_INT(parse_str("{\"post_type\":\"message\",\"message_type\":\"guild\"}", &f, err,
                        sizeof err),
              QB_OK);
    CHECK_INT(f.ev.kind, QB_EV_UNKNOWN);
    CHECK_STR(f.ev.name, "guild");
    qb_frame_clear(&f);
}

TEST(ids_and_numbers)
{
    struct qb_frame f;
    char err[200];
    /* 2^53 exactly, a negative id, a huge number (not an id), an over-long string id */
    CHECK_INT(parse_str("{\"post_type\":\"notice\",\"notice_type\":\"group_recall\","
                        "\"group_id\":9007199254740992,\"user_id\":-5,"
                        "\"operator_id\":123456789012345678901234567890,"
                        "\"message_id\":\"1234567890123456789012345678901234567890123456789012345"
                        "678901234567890123456789\",\"time\":1.5e9}",
                        &f, err, sizeof err),
              QB_OK);
    CHECK_STR(f.ev.group_id, "9007199254740992");
    CHECK_STR(f.ev.user_id, "-5");
    CHECK_STR(f.ev.operator_id, "");
    CHECK_INT(strlen(f.ev.message_id), QB_ID_MAX - 1);
    CHECK_INT(f.ev.time_ms, 1500000000000LL);
    qb_frame_clear(&f);
}

/* ---- formatting ---- */

/* Format a and parse the frame back; checks action name and echo. Caller deletes. */
static cJSON *fmt(const struct qb_action *a, const char *action)
{
    int err = 12345;
    char *s = ob->format(a, "77", &err);
    CHECK(s != NULL);
    CHECK_INT(err, QB_OK);
    cJSON *root = s ? cJSON_Parse(s) : NULL;
    free(s);
    CHECK(cJSON_IsObject(root));
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(root, "action")), action);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(root, "echo")), "77");
    return root;
}

static const cJSON *param(const cJSON *root, const char *key)
{
    return cJSON_GetObjectItem(cJSON_GetObjectItem(root, "params"), key);
}

static void check_num(const cJSON *root, const char *key, double want)
{
    const cJSON *v = param(root, key);
    CHECK(cJSON_IsNumber(v));
    if (cJSON_IsNumber(v) && v->valuedouble != want) {
        fprintf(stderr, "%s: param %s: expected %.0f, got %.0f\n", test_current, key, want,
                v->valuedouble);
        test_failed_checks++;
    }
}

static void check_bool(const cJSON *root, const char *key, bool want)
{
    const cJSON *v = param(root, key);
    CHECK(cJSON_IsBool(v) && cJSON_IsTrue(v) == want);
}

TEST(format_send_group)
{
    struct qb_action *a = qb_action_new(QB_ACT_SEND);
    a->chat = QB_CHAT_GROUP;
    qb_id_set(a->group_id, "123456");
    qb_msg_reply(&a->msg, "918379735");
    qb_msg_at(&a->msg, "20002");
    qb_msg_text(&a->msg, " [CQ:at,qq=all] a&b,c");
    qb_msg_image(&a->msg, "https://h/x.png");
    qb_msg_add(&a->msg, QB_SEG_SHARE, NULL, "An article", "https://example.org/a", NULL);
    a->reason = strdup("secret moderator note");
    cJSON *root = fmt(a, "send_group_msg");
    check_num(root, "group_id", 123456);
    const cJSON *m = param(root, "message");
    CHECK(cJSON_IsArray(m));
    CHECK_INT(cJSON_GetArraySize(m), 5);
    const cJSON *s0 = cJSON_GetArrayItem(m, 0), *s2 = cJSON_GetArrayItem(m, 2);
    const cJSON *s3 = cJSON_GetArrayItem(m, 3), *s4 = cJSON_GetArrayItem(m, 4);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(s0, "type")), "reply");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(s0, "data"), "id")),
              "918379735");
    /* text goes out verbatim: no CQ escaping inside arrays */
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(s2, "data"), "text")),
              " [CQ:at,qq=all] a&b,c");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(s3, "data"), "file")),
              "https://h/x.png");
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(s3, "data"), "url") == NULL);
    /* implementations have no share segment: it goes out as text */
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(s4, "type")), "text");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(s4, "data"), "text")),
              "An article https://example.org/a");
    char *all = cJSON_PrintUnformatted(root);
    CHECK(strstr(all, "secret") == NULL); /* the reason is never sent */
    cJSON_free(all);
    cJSON_Delete(root);
    qb_action_free(a);
}

TEST(format_ids)
{
    struct qb_action *a = qb_action_new(QB_ACT_SEND);
    a->chat = QB_CHAT_PRIVATE;
    qb_id_set(a->user_id, "9223372036854775807"); /* int64 max stays exact */
    qb_msg_text(&a->msg, "hi");
    int err;
    char *s = ob->format(a, "1", &err);
    CHECK(s && strstr(s, "\"user_id\":9223372036854775807"));
    free(s);
    qb_id_set(a->user_id, "9223372036854775808"); /* too big for int64: a string */
    cJSON *root = fmt(a, "send_private_msg");
    CHECK_STR(cJSON_GetStringValue(param(root, "user_id")), "9223372036854775808");
    cJSON_Delete(root);
    qb_id_set(a->user_id, "0123");
    root = fmt(a, "send_private_msg");
    CHECK_STR(cJSON_GetStringValue(param(root, "user_id")), "0123");
    cJSON_Delete(root);
    qb_id_set(a->user_id, "wxid_abc");
    qb_id_set(a->group_id, "123456"); /* NapCat temporary chat */
    root = fmt(a, "send_private_msg");
    CHECK_STR(cJSON_GetStringValue(param(root, "user_id")), "wxid_abc");
    check_num(root, "group_id", 123456);
    cJSON_Delete(root);
    qb_action_free(a);
}

TEST(format_moderation_actions)
{
    struct qb_action *a = qb_action_new(QB_ACT_RECALL);
    qb_id_set(a->message_id, "918379735");
    cJSON *r = fmt(a, "delete_msg");
    check_num(r, "message_id", 918379735);
    cJSON_Delete(r);

    a->kind = QB_ACT_MUTE;
    qb_id_set(a->group_id, "123456");
    qb_id_set(a->user_id, "30003");
    a->duration_s = 600;
    r = fmt(a, "set_group_ban");
    check_num(r, "group_id", 123456);
    check_num(r, "user_id", 30003);
    check_num(r, "duration", 600);
    cJSON_Delete(r);
    a->duration_s = 0; /* unmute: duration is still sent (NapCat's default differs) */
    r = fmt(a, "set_group_ban");
    check_num(r, "duration", 0);
    cJSON_Delete(r);

    a->kind = QB_ACT_MUTE_ALL;
    a->enable = true;
    r = fmt(a, "set_group_whole_ban");
    check_bool(r, "enable", true);
    CHECK(param(r, "user_id") == NULL);
    cJSON_Delete(r);

    a->kind = QB_ACT_KICK;
    r = fmt(a, "set_group_kick");
    check_bool(r, "reject_add_request", true);
    cJSON_Delete(r);

    a->kind = QB_ACT_SET_CARD;
    r = fmt(a, "set_group_card");
    CHECK_STR(cJSON_GetStringValue(param(r, "card")), "");
    cJSON_Delete(r);

    a->kind = QB_ACT_SET_TITLE;
    a->text = strdup("元老");
    r = fmt(a, "set_group_special_title");
    CHECK_STR(cJSON_GetStringValue(param(r, "special_title")), "元老");
    check_num(r, "duration", -1);
    cJSON_Delete(r);
    qb_action_free(a);
}

TEST(format_requests_and_queries)
{
    struct qb_action *a = qb_action_new(QB_ACT_HANDLE_REQUEST);
    qb_strlcpy(a->flag, "1718000000123456", sizeof a->flag);
    qb_strlcpy(a->sub_type, "add", sizeof a->sub_type);
    a->enable = false;
    a->text = strdup("ads");
    a->reason = strdup("internal: spam ring");
    cJSON *r = fmt(a, "set_group_add_request");
    CHECK_STR(cJSON_GetStringValue(param(r, "flag")), "1718000000123456"); /* flags stay strings */
    CHECK_STR(cJSON_GetStringValue(param(r, "sub_type")), "add");
    check_bool(r, "approve", false);
    CHECK_STR(cJSON_GetStringValue(param(r, "reason")), "ads");
    cJSON_Delete(r);
    qb_strlcpy(a->sub_type, "friend", sizeof a->sub_type);
    a->enable = true;
    r = fmt(a, "set_friend_add_request");
    check_bool(r, "approve", true);
    CHECK(param(r, "reason") == NULL);
    cJSON_Delete(r);

    a->kind = QB_ACT_GET_STATUS;
    cJSON_Delete(fmt(a, "get_status"));
    a->kind = QB_ACT_GET_LOGIN;
    cJSON_Delete(fmt(a, "get_login_info"));
    a->kind = QB_ACT_GET_HISTORY;
    qb_id_set(a->group_id, "123456");
    a->count = 30;
    r = fmt(a, "get_group_msg_history");
    check_num(r, "group_id", 123456);
    check_num(r, "count", 30);
    cJSON_Delete(r);
    a->kind = QB_ACT_GET_MEMBER;
    qb_id_set(a->user_id, "20002");
    r = fmt(a, "get_group_member_info");
    check_num(r, "user_id", 20002);
    check_bool(r, "no_cache", false);
    cJSON_Delete(r);
    qb_action_free(a);
}

TEST(format_refuses_what_it_cannot_send)
{
    int err = 0;
    struct qb_action *a = qb_action_new(QB_ACT__COUNT);
    CHECK(ob->format(a, "1", &err) == NULL);
    CHECK_INT(err, QB_ENOTSUP);
    a->kind = QB_ACT_SEND; /* no target, no message */
    a->chat = QB_CHAT_GROUP;
    CHECK(ob->format(a, "1", &err) == NULL);
    CHECK_INT(err, QB_EINVAL);
    qb_id_set(a->group_id, "1");
    CHECK(ob->format(a, "1", &err) == NULL); /* empty message */
    CHECK_INT(err, QB_EINVAL);
    a->kind = QB_ACT_MUTE; /* no user */
    CHECK(ob->format(a, "1", &err) == NULL);
    CHECK_INT(err, QB_EINVAL);
    a->kind = QB_ACT_HANDLE_REQUEST; /* no flag */
    CHECK(ob->format(a, "1", &err) == NULL);
    CHECK_INT(err, QB_EINVAL);
    qb_action_free(a);
}

TEST(format_keeps_frames_valid_utf8)
{
    struct qb_action *a = qb_action_new(QB_ACT_SEND);
    a->chat = QB_CHAT_GROUP;
    qb_id_set(a->group_id, "1");
    qb_msg_text(&a->msg, "cut \xe4\xbd"); /* a plugin cut a character in half */
    int err;
    char *s = ob->format(a, "1", &err);
    CHECK(s != NULL);
    struct qb_frame f;
    char e[200];
    if (s) {
        CHECK_INT(ob->parse(s, strlen(s), &f, e, sizeof e), QB_OK);
        qb_frame_clear(&f);
    }
    free(s);
    qb_action_free(a);
}

/* ---- results ---- */

TEST(result_mapping)
{
    struct qb_action *a = qb_action_new(QB_ACT_SEND);
    struct qb_result r;
    struct qb_member_info mi;
    struct qb_frame f;
    char err[200];
    if (load("resp_send_ok", &f) == QB_OK) {
        ob->result(a, &f, &r, &mi);
        CHECK_INT(r.err, QB_OK);
        CHECK_INT(r.retcode, 0);
        CHECK_STR(r.message_id, "1494647657");
        CHECK(r.member == NULL);
    }
    qb_frame_clear(&f);
    if (load("resp_failed", &f) == QB_OK) {
        ob->result(a, &f, &r, &mi);
        CHECK_INT(r.err, QB_EFAILED);
        CHECK_INT(r.retcode, 1200);
        CHECK(strstr(r.detail, "Timeout") != NULL);
        CHECK_STR(r.message_id, "");
    }
    qb_frame_clear(&f);
    static const struct {
        int retcode, err;
    } codes[] = {{1404, QB_ENOTSUP}, {1403, QB_EDENIED}, {1401, QB_EDENIED}, {1400, QB_EFAILED}};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        char json[100];
        snprintf(json, sizeof json, "{\"status\":\"failed\",\"retcode\":%d,\"echo\":\"1\"}",
                 codes[i].retcode);
        CHECK_INT(parse_str(json, &f, err, sizeof err), QB_OK);
        ob->result(a, &f, &r, &mi);
        CHECK_INT(r.err, codes[i].err);
        CHECK_INT(r.retcode, codes[i].retcode);
        qb_frame_clear(&f);
    }
    a->kind = QB_ACT_GET_MEMBER;
    if (load("resp_member", &f) == QB_OK) {
        ob->result(a, &f, &r, &mi);
        CHECK_INT(r.err, QB_OK);
        CHECK(r.member == &mi);
        CHECK_STR(mi.user_id, "20002");
        CHECK_STR(mi.nickname, "Alice");
        CHECK_STR(mi.card, "Alice@Ops");
        CHECK_STR(mi.title, "元老");
        CHECK_INT(mi.role, QB_ROLE_ADMIN);
        CHECK_INT(mi.join_time_ms, 1600000000000LL);
        CHECK_INT(mi.last_sent_ms, 1718000000000LL);
    }
    qb_frame_clear(&f);
    a->kind = QB_ACT_GET_LOGIN; /* the core learns its own id this way */
    if (load("resp_login", &f) == QB_OK) {
        ob->result(a, &f, &r, &mi);
        CHECK(r.member == &mi);
        CHECK_STR(mi.user_id, "10001");
        CHECK_STR(mi.nickname, "Bot");
    }
    qb_frame_clear(&f);
    a->kind = QB_ACT_SEND; /* ok but data of the wrong shape */
    CHECK_INT(parse_str("{\"status\":\"ok\",\"retcode\":0,\"data\":[1]}", &f, err, sizeof err),
              QB_OK);
    ob->result(a, &f, &r, &mi);
    CHECK_INT(r.err, QB_OK);
    CHECK_STR(r.message_id, "");
    qb_frame_clear(&f);
    qb_action_free(a);
}

/* ---- history ---- */

struct seen {
    int n;
    char ids[8][QB_ID_MAX];
    enum qb_event_kind kinds[8];
    bool all_backfilled;
    char self[QB_ID_MAX];
};

static void collect(struct qb_event *ev, void *ud)
{
    struct seen *s = ud;
    if (s->n < 8) {
        qb_id_set(s->ids[s->n], ev->message_id);
        s->kinds[s->n] = ev->kind;
    }
    s->n++;
    s->all_backfilled = s->all_backfilled && ev->backfilled && ev->chat == QB_CHAT_GROUP;
    qb_id_set(s->self, ev->self_id);
}

TEST(history_oldest_first)
{
    struct qb_frame f;
    struct seen s = {.all_backfilled = true};
    if (load("resp_history", &f) == QB_OK) {
        CHECK_INT(ob->history(&f, "10001", collect, &s), 3);
        CHECK_INT(s.n, 3);
        CHECK_STR(s.ids[0], "1");
        CHECK_STR(s.ids[1], "2");
        CHECK_STR(s.ids[2], "3");
        CHECK_INT(s.kinds[0], QB_EV_MESSAGE);
        CHECK_INT(s.kinds[1], QB_EV_MESSAGE_SELF); /* the bot's own line */
        CHECK(s.all_backfilled);
        CHECK_STR(s.self, "10001");
    }
    qb_frame_clear(&f);
    /* data as a bare array, newest first with equal times: delivered oldest first */
    char err[200];
    memset(&s, 0, sizeof s);
    s.all_backfilled = true;
    CHECK_INT(
            parse_str("{\"status\":\"ok\",\"retcode\":0,\"data\":["
                      "{\"message_type\":\"group\",\"group_id\":1,\"time\":9,\"message_id\":30},"
                      "{\"message_type\":\"group\",\"group_id\":1,\"time\":5,\"message_id\":20},"
                      "{\"message_type\":\"group\",\"group_id\":1,\"time\":5,\"message_id\":10}]}",
                      &f, err, sizeof err),
            QB_OK);
    CHECK_INT(ob->history(&f, "", collect, &s), 3);
    CHECK_STR(s.ids[0], "10");
    CHECK_STR(s.ids[1], "20");
    CHECK_STR(s.ids[2], "30");
    qb_frame_clear(&f);
    /* no messages, or data of the wrong shape */
    CHECK_INT(parse_str("{\"status\":\"ok\",\"data\":{\"messages\":{}}}", &f, err, sizeof err),
              QB_OK);
    CHECK_INT(ob->history(&f, "1", collect, &s), 0);
    qb_frame_clear(&f);
    CHECK_INT(parse_str("{\"status\":\"ok\",\"data\":null}", &f, err, sizeof err), QB_OK);
    CHECK_INT(ob->history(&f, "1", collect, &s), 0);
    qb_frame_clear(&f);
}

/* ---- robustness: every fixture cut at every byte and with single bytes changed ---- */

static void parse_bytes(const char *src, size_t len)
{
    char *copy = malloc(len ? len : 1); /* exact size: ASan catches any read past the end */
    memcpy(copy, src, len);
    struct qb_frame f;
    char err[64];
    qb_frame_init(&f);
    if (ob->parse(copy, len, &f, err, sizeof err) == QB_OK) {
        char *cq = qb_cq_encode(&f.ev.msg);
        free(cq);
    }
    qb_frame_clear(&f);
    free(copy);
}

TEST(test_onebot11_robustness)
{
    static const unsigned char flips[] = {0x00, '"', '{',  '}', '[',  ']',
                                          ',',  ':', '\\', '9', 0x80, 0xff};
    DIR *d = opendir(FIX);
    CHECK(d != NULL);
    if (!d)
        return;
    int files = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strstr(de->d_name, ".json"))
            continue;
        char path[512];
        size_t len = 0;
        snprintf(path, sizeof path, FIX "%s", de->d_name);
        char *buf = slurp(path, &len);
        CHECK(buf != NULL);
        if (!buf)
            continue;
        files++;
        for (size_t cut = 0; cut <= len; cut++)
            parse_bytes(buf, cut);
        for (size_t i = 0; i < len; i++) {
            char saved = buf[i];
            for (size_t k = 0; k < sizeof flips; k++) {
                buf[i] = (char)flips[k];
                parse_bytes(buf, len);
            }
            buf[i] = (char)(saved ^ 0x20);
            parse_bytes(buf, len);
            buf[i] = saved;
        }
        free(buf);
    }
    closedir(d);
    CHECK(files >= 30);
}

int main(void)
{
    RUN(group_message_array);
    RUN(string_format_gives_the_same_message);
    RUN(private_and_self_messages);
    RUN(every_segment_type);
    RUN(every_event_kind);
    RUN(event_details);
    RUN(responses);
    RUN(malformed_input_is_an_error);
    RUN(wrong_types_read_as_absent);
    RUN(ids_and_numbers);
    RUN(format_send_group);
    RUN(format_ids);
    RUN(format_moderation_actions);
    RUN(format_requests_and_queries);
    RUN(format_refuses_what_it_cannot_send);
    RUN(format_keeps_frames_valid_utf8);
    RUN(result_mapping);
    RUN(history_oldest_first);
    RUN(test_onebot11_robustness);
    return test_done();
}

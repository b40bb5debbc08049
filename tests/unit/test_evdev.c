/*
 * test_evdev.c - the HID keyboard scanner decoder (gateway/evdev.c): the US
 * layout table key by key, encode -> decode round trips of real pass and
 * card texts and of every printable ASCII character, Shift and Caps Lock,
 * autorepeat, non-key events, unknown keys, gw_evdev_open's errors, and the
 * recorded streams in tests/data/evdev read back through a pipe.
 *
 *     test_evdev              run the tests
 *     test_evdev --write DIR  (re)write the recorded streams into DIR
 *
 * The streams are written in the x86_64 layout of struct input_event
 * (24 bytes, little-endian; see tests/data/evdev/README.md) whatever the
 * machine, and converted to the native layout when read, so the test also
 * runs on 32-bit ARM where the struct is 16 bytes.
 */
#include "test.h"

#include "evdev.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>

/* ---- helpers ------------------------------------------------------------ */

static struct input_event mkev(unsigned type, unsigned code, int value)
{
	struct input_event ev;

	memset(&ev, 0, sizeof ev);
	ev.type = (unsigned short)type;
	ev.code = (unsigned short)code;
	ev.value = value;
	return ev;
}

static int decode1(struct gw_evdev_decoder *d, unsigned type, unsigned code, int value)
{
	struct input_event ev = mkev(type, code, value);

	return gw_evdev_decode(d, &ev);
}

/* Press and release code (with shift_code held around it if nonzero) on d;
 * return what the press typed. */
static int tap(struct gw_evdev_decoder *d, unsigned shift_code, unsigned code)
{
	int c;

	if (shift_code)
		CHECK_EQ_INT(decode1(d, EV_KEY, shift_code, 1), 0);
	c = decode1(d, EV_KEY, code, 1);
	CHECK_EQ_INT(decode1(d, EV_KEY, code, 0), 0);
	if (shift_code)
		CHECK_EQ_INT(decode1(d, EV_KEY, shift_code, 0), 0);
	return c;
}

/* Decode n events with a fresh decoder into out (cap bytes, NUL-terminated);
 * returns the text length, or -1 if out is too small. */
static int decode_all(const struct input_event *ev, size_t n, char *out, size_t cap)
{
	struct gw_evdev_decoder d;
	size_t len = 0;

	gw_evdev_decoder_init(&d);
	for (size_t i = 0; i < n; i++) {
		int c = gw_evdev_decode(&d, &ev[i]);

		if (c == 0)
			continue;
		if (len + 1 >= cap)
			return -1;
		out[len++] = (char)c;
	}
	out[len] = '\0';
	return (int)len;
}

static const char base45_alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/* The fixture pass and card as QR text. */
static void fixture_texts(char pass[AS_SCAN_TEXT_MAX], char card[AS_SCAN_TEXT_MAX])
{
	struct test_keys k;
	struct as_pass p;
	struct as_credential c;

	test_keys_init(&k);
	test_pass_make(&k, &p, TEST_NOW);
	test_credential_make(&k, &c, 1);
	if (as_pass_to_text(pass, AS_SCAN_TEXT_MAX, &p) < 0 ||
	    as_card_to_text(card, AS_SCAN_TEXT_MAX, &c) < 0) {
		fprintf(stderr, "cannot make the fixture pass and card texts\n");
		exit(2);
	}
}

/* ---- the table ---------------------------------------------------------- */

static void test_layout_table(void)
{
	static const struct {
		unsigned code;
		char plain, shifted;
	} keys[] = {
		{ KEY_1, '1', '!' },       { KEY_4, '4', '$' },      { KEY_5, '5', '%' },
		{ KEY_8, '8', '*' },       { KEY_0, '0', ')' },      { KEY_A, 'a', 'A' },
		{ KEY_Q, 'q', 'Q' },       { KEY_Z, 'z', 'Z' },      { KEY_M, 'm', 'M' },
		{ KEY_SPACE, ' ', ' ' },   { KEY_MINUS, '-', '_' },  { KEY_DOT, '.', '>' },
		{ KEY_SLASH, '/', '?' },   { KEY_SEMICOLON, ';', ':' },
		{ KEY_EQUAL, '=', '+' },   { KEY_COMMA, ',', '<' },  { KEY_GRAVE, '`', '~' },
		{ KEY_APOSTROPHE, '\'', '"' }, { KEY_BACKSLASH, '\\', '|' },
		{ KEY_LEFTBRACE, '[', '{' }, { KEY_RIGHTBRACE, ']', '}' },
		{ KEY_ENTER, '\n', '\n' }, { KEY_KPENTER, '\n', '\n' }, { KEY_TAB, '\n', '\n' },
		/* keypad: the same with or without shift */
		{ KEY_KPASTERISK, '*', '*' }, { KEY_KPPLUS, '+', '+' }, { KEY_KPMINUS, '-', '-' },
		{ KEY_KPDOT, '.', '.' },   { KEY_KPSLASH, '/', '/' }, { KEY_KP0, '0', '0' },
		{ KEY_KP1, '1', '1' },     { KEY_KP5, '5', '5' },    { KEY_KP9, '9', '9' },
	};
	struct gw_evdev_decoder d;

	gw_evdev_decoder_init(&d);
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		test_ctx("key %u", keys[i].code);
		CHECK_EQ_INT(tap(&d, 0, keys[i].code), keys[i].plain);
		CHECK_EQ_INT(tap(&d, KEY_LEFTSHIFT, keys[i].code), keys[i].shifted);
		CHECK_EQ_INT(tap(&d, KEY_RIGHTSHIFT, keys[i].code), keys[i].shifted);
	}
	test_ctx_clear();
	/* digits and letters, all of them */
	for (unsigned i = 0; i < 9; i++)
		CHECK_EQ_INT(tap(&d, 0, KEY_1 + i), '1' + (int)i);
	for (unsigned i = 0; i < 3; i++) {
		CHECK_EQ_INT(tap(&d, 0, KEY_KP1 + i), '1' + (int)i);
		CHECK_EQ_INT(tap(&d, 0, KEY_KP4 + i), '4' + (int)i);
		CHECK_EQ_INT(tap(&d, 0, KEY_KP7 + i), '7' + (int)i);
	}
	/* every key code the kernel defines types nothing or a 7-bit character */
	for (unsigned code = 0; code <= KEY_MAX; code++) {
		int c;

		gw_evdev_decoder_init(&d);
		c = decode1(&d, EV_KEY, code, 1);
		test_ctx("key %u", code);
		if (!CHECK(c >= 0 && c <= 127))
			break;
		if (code >= 128)
			CHECK_EQ_INT(c, 0);
	}
}

static void test_unknown_keys_type_nothing(void)
{
	static const unsigned codes[] = {
		KEY_RESERVED, KEY_ESC, KEY_BACKSPACE, KEY_LEFTCTRL, KEY_RIGHTCTRL, KEY_LEFTALT,
		KEY_RIGHTALT, KEY_LEFTMETA, KEY_F1, KEY_F12, KEY_NUMLOCK, KEY_SCROLLLOCK,
		KEY_HOME, KEY_UP, KEY_DELETE, KEY_102ND, KEY_POWER, BTN_LEFT, KEY_MAX,
	};
	struct gw_evdev_decoder d;

	gw_evdev_decoder_init(&d);
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		test_ctx("key %u", codes[i]);
		CHECK_EQ_INT(tap(&d, 0, codes[i]), 0);
		CHECK_EQ_INT(tap(&d, KEY_LEFTSHIFT, codes[i]), 0);
	}
	test_ctx_clear();
	/* and they change no state: an 'a' after them is still lowercase */
	CHECK_EQ_INT(tap(&d, 0, KEY_A), 'a');
}

/* ---- modifiers ---------------------------------------------------------- */

static void test_shift_keys(void)
{
	struct gw_evdev_decoder d;

	gw_evdev_decoder_init(&d);
	CHECK_EQ_INT(decode1(&d, EV_KEY, KEY_LEFTSHIFT, 1), 0);
	CHECK_EQ_INT(decode1(&d, EV_KEY, KEY_B, 1), 'B');
	CHECK_EQ_INT(decode1(&d, EV_KEY, KEY_RIGHTSHIFT, 1), 0); /* both held */
	CHECK_EQ_INT(decode1(&d, EV_KEY, KEY_LEFTSHIFT, 0), 0);  /* right still held */
	CHECK_EQ_INT(decode1(&d, EV_KEY, KEY_C, 1), 'C');
	CHECK_EQ_INT(decode1(&d, EV_KEY, KEY_RIGHTSHIFT, 2), 0); /* autorepeat: no change */
	CHECK_EQ_INT(decode1(&d, EV_KEY, KEY_D, 1), 'D');
	CHECK_EQ_INT(decode1(&d, EV_KEY, KEY_RIGHTSHIFT, 0), 0);
	CHECK_EQ_INT(decode1(&d, EV_KEY, KEY_E, 1), 'e');
	CHECK(!d.shift_left && !d.shift_right && !d.caps_lock);
}

static void test_caps_lock(void)
{
	struct gw_evdev_decoder d;

	gw_evdev_decoder_init(&d);
	CHECK_EQ_INT(tap(&d, 0, KEY_CAPSLOCK), 0);
	CHECK(d.caps_lock);
	CHECK_EQ_INT(tap(&d, 0, KEY_A), 'A');                 /* caps: uppercase */
	CHECK_EQ_INT(tap(&d, KEY_LEFTSHIFT, KEY_A), 'a');     /* shift + caps: lower */
	CHECK_EQ_INT(tap(&d, KEY_RIGHTSHIFT, KEY_Z), 'z');
	CHECK_EQ_INT(tap(&d, 0, KEY_4), '4');                 /* caps leaves digits */
	CHECK_EQ_INT(tap(&d, KEY_LEFTSHIFT, KEY_4), '$');     /* and symbols alone */
	CHECK_EQ_INT(tap(&d, KEY_LEFTSHIFT, KEY_SEMICOLON), ':');
	CHECK_EQ_INT(tap(&d, 0, KEY_MINUS), '-');
	CHECK_EQ_INT(tap(&d, 0, KEY_KP8), '8');
	/* autorepeat and release of Caps Lock do not toggle */
	CHECK_EQ_INT(decode1(&d, EV_KEY, KEY_CAPSLOCK, 1), 0);
	CHECK(!d.caps_lock);
	CHECK_EQ_INT(decode1(&d, EV_KEY, KEY_CAPSLOCK, 2), 0);
	CHECK(!d.caps_lock);
	CHECK_EQ_INT(decode1(&d, EV_KEY, KEY_CAPSLOCK, 0), 0);
	CHECK(!d.caps_lock);
	CHECK_EQ_INT(tap(&d, 0, KEY_A), 'a');
	CHECK_EQ_INT(tap(&d, KEY_LEFTSHIFT, KEY_A), 'A');
	/* a whole text typed with caps lock on and shift for symbols only */
	gw_evdev_decoder_init(&d);
	tap(&d, 0, KEY_CAPSLOCK);
	{
		static const unsigned keys[] = { KEY_A, KEY_P, KEY_1, KEY_SEMICOLON, KEY_Q, KEY_X };
		static const int shifted[] = { 0, 0, 0, 1, 0, 1 };
		char text[8];

		for (size_t i = 0; i < 6; i++)
			text[i] = (char)tap(&d, shifted[i] ? KEY_LEFTSHIFT : 0, keys[i]);
		text[6] = '\0';
		CHECK_STR(text, "AP1:Qx");
	}
}

static void test_autorepeat_ignored(void)
{
	struct gw_evdev_decoder d;

	gw_evdev_decoder_init(&d);
	CHECK_EQ_INT(decode1(&d, EV_KEY, KEY_A, 1), 'a');
	for (int i = 0; i < 5; i++)
		CHECK_EQ_INT(decode1(&d, EV_KEY, KEY_A, 2), 0);
	CHECK_EQ_INT(decode1(&d, EV_KEY, KEY_A, 0), 0);
	CHECK_EQ_INT(decode1(&d, EV_KEY, KEY_ENTER, 2), 0);
	/* values other than 0, 1 and 2 type nothing either */
	CHECK_EQ_INT(decode1(&d, EV_KEY, KEY_A, 3), 0);
	CHECK_EQ_INT(decode1(&d, EV_KEY, KEY_A, -1), 0);
	CHECK_EQ_INT(decode1(&d, EV_KEY, KEY_LEFTSHIFT, 7), 0);
	CHECK(!d.shift_left);
}

static void test_non_key_events_ignored(void)
{
	static const unsigned types[] = { EV_SYN, EV_REL, EV_ABS, EV_MSC, EV_SW, EV_LED,
					  EV_SND, EV_REP, EV_FF, EV_PWR, EV_FF_STATUS, EV_MAX };
	static const unsigned codes[] = { KEY_A, KEY_LEFTSHIFT, KEY_RIGHTSHIFT, KEY_CAPSLOCK,
					  KEY_ENTER, 0, MSC_SCAN };
	struct gw_evdev_decoder d;

	gw_evdev_decoder_init(&d);
	for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
		for (size_t c = 0; c < sizeof codes / sizeof codes[0]; c++)
			for (int v = 0; v <= 2; v++) {
				test_ctx("type %u code %u value %d", types[t], codes[c], v);
				CHECK_EQ_INT(decode1(&d, types[t], codes[c], v), 0);
				CHECK(!d.shift_left && !d.shift_right && !d.caps_lock);
			}
	test_ctx_clear();
	CHECK_EQ_INT(decode1(&d, EV_MSC, MSC_SCAN, 0x70004), 0);
	CHECK_EQ_INT(decode1(&d, EV_KEY, KEY_A, 1), 'a');
}

/* ---- encoder and round trips ------------------------------------------- */

static void round_trip(const char *text)
{
	size_t n = strlen(text), cap = 8 * n + 8, count;
	struct input_event *ev = calloc(cap, sizeof *ev);
	char *back = malloc(n + 1);

	test_ctx("text \"%.40s\"", text);
	if (!CHECK(ev && back))
		goto out;
	count = gw_evdev_encode_text(text, ev, cap);
	CHECK(count >= 4 * n && count <= 8 * n);
	if (CHECK_RC(decode_all(ev, count, back, n + 1), (int)n))
		CHECK_STR(back, text);
	/* every key event is followed by its SYN_REPORT */
	for (size_t i = 0; i < count; i += 2)
		if (!CHECK(ev[i].type == EV_KEY && ev[i + 1].type == EV_SYN &&
			   ev[i + 1].code == SYN_REPORT))
			break;
out:
	test_ctx_clear();
	free(ev);
	free(back);
}

static void test_round_trip_pass_texts(void)
{
	char pass[AS_SCAN_TEXT_MAX], card[AS_SCAN_TEXT_MAX], all[AS_SCAN_TEXT_MAX + 64];

	fixture_texts(pass, card);
	CHECK(strncmp(pass, AS_PASS_PREFIX, 4) == 0);
	CHECK(strncmp(card, AS_CARD_PREFIX, 4) == 0);
	round_trip(pass);
	round_trip(card);
	/* make sure every Base45 character is typed at least once */
	snprintf(all, sizeof all, "%s%s\n", pass, base45_alphabet);
	round_trip(all);
	round_trip(base45_alphabet);
}

static void test_round_trip_printable_ascii(void)
{
	char text[128];
	size_t n = 0;

	for (int c = 32; c < 127; c++)
		text[n++] = (char)c;
	text[n++] = '\n';
	text[n] = '\0';
	round_trip(text);
}

static void test_encode_limits(void)
{
	struct input_event ev[16];

	CHECK_EQ_INT(gw_evdev_encode_text("", ev, 16), 0);
	CHECK_EQ_INT(gw_evdev_encode_text("a", ev, 16), 4);
	CHECK_EQ_INT(gw_evdev_encode_text("A", ev, 16), 8);
	CHECK_EQ_INT(gw_evdev_encode_text("aB", ev, 12), 12);
	CHECK_EQ_INT(gw_evdev_encode_text("aB", ev, 11), 0); /* cap too small */
	CHECK_EQ_INT(gw_evdev_encode_text("aB", ev, 0), 0);
	CHECK_EQ_INT(gw_evdev_encode_text("a\x01", ev, 16), 0); /* not typable */
	CHECK_EQ_INT(gw_evdev_encode_text("a\r", ev, 16), 0);
	CHECK_EQ_INT(gw_evdev_encode_text("\xc3\xa9", ev, 16), 0); /* UTF-8 e-acute */
	CHECK_EQ_INT(gw_evdev_encode_text("\x7f", ev, 16), 0);
	/* the exact stream for "A": shift around the key, SYN after each */
	if (CHECK_EQ_INT(gw_evdev_encode_text("A", ev, 8), 8)) {
		static const struct { unsigned type, code; int value; } want[8] = {
			{ EV_KEY, KEY_LEFTSHIFT, 1 }, { EV_SYN, SYN_REPORT, 0 },
			{ EV_KEY, KEY_A, 1 },         { EV_SYN, SYN_REPORT, 0 },
			{ EV_KEY, KEY_A, 0 },         { EV_SYN, SYN_REPORT, 0 },
			{ EV_KEY, KEY_LEFTSHIFT, 0 }, { EV_SYN, SYN_REPORT, 0 },
		};
		for (int i = 0; i < 8; i++) {
			test_ctx("event %d", i);
			CHECK_EQ_INT(ev[i].type, want[i].type);
			CHECK_EQ_INT(ev[i].code, want[i].code);
			CHECK_EQ_INT(ev[i].value, want[i].value);
			CHECK_EQ_INT(ev[i].input_event_sec, 0);
			CHECK_EQ_INT(ev[i].input_event_usec, 0);
		}
	}
	/* symbols come from the main keyboard, tab from the Tab key */
	CHECK_EQ_INT(gw_evdev_encode_text("*", ev, 8), 8);
	CHECK_EQ_INT(ev[2].code, KEY_8);
	CHECK_EQ_INT(gw_evdev_encode_text("\t", ev, 8), 4);
	CHECK_EQ_INT(ev[0].code, KEY_TAB);
}

/* ---- gw_evdev_open ------------------------------------------------------ */

static void test_open_errors(void)
{
	char dir[64], path[128];
	int fd = 12345, probe, again, f, rc;

	CHECK_RC(gw_evdev_open("/nonexistent/anshim/event0", &fd), -ENOENT);
	CHECK_EQ_INT(fd, -1);
	/* a regular file is not an input device: the grab fails, nothing leaks */
	test_tmpdir(dir);
	snprintf(path, sizeof path, "%s/not-a-device", dir);
	f = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (!CHECK(f >= 0))
		goto out;
	close(f);
	probe = open("/dev/null", O_RDONLY | O_CLOEXEC); /* the lowest free fd */
	CHECK(probe >= 0);
	close(probe);
	fd = 12345;
	/* qemu-user (cross-built tests) does not handle EVIOCGRAB and says
	 * ENOSYS where a kernel says ENOTTY; both mean "not an input device". */
	rc = gw_evdev_open(path, &fd);
	CHECK(rc == -ENOTTY || rc == -ENOSYS);
	CHECK_EQ_INT(fd, -1);
	again = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK_EQ_INT(again, probe); /* gw_evdev_open closed what it opened */
	if (again >= 0)
		close(again);
	rc = gw_evdev_open(dir, &fd); /* a directory opens O_RDONLY */
	CHECK(rc == -ENOTTY || rc == -ENOSYS);
out:
	test_rmdir(dir);
}

/* ---- recorded streams ---------------------------------------------------- */

/*
 * The on-disk layout: x86_64's struct input_event, little-endian:
 * tv_sec (8) tv_usec (8) type (2) code (2) value (4).
 */
#define REC_SIZE 24
#define REC_T0 TEST_NOW /* the streams' first timestamp */
#define REC_MAX_EVENTS 20000

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void rec_to_native(const uint8_t *p, struct input_event *ev)
{
	memset(ev, 0, sizeof *ev);
	ev->input_event_sec = (int64_t)get_le(p, 8);
	ev->input_event_usec = (int64_t)get_le(p + 8, 8);
	ev->type = (unsigned short)get_le(p + 16, 2);
	ev->code = (unsigned short)get_le(p + 18, 2);
	ev->value = (int32_t)(uint32_t)get_le(p + 20, 4);
}

static void native_to_rec(const struct input_event *ev, uint8_t *p)
{
	put_le(p, (uint64_t)(int64_t)ev->input_event_sec, 8);
	put_le(p + 8, (uint64_t)(int64_t)ev->input_event_usec, 8);
	put_le(p + 16, ev->type, 2);
	put_le(p + 18, ev->code, 2);
	put_le(p + 20, (uint32_t)ev->value, 4);
}

/* A stream being built the way a scanner sends it. */
struct stream {
	struct input_event ev[REC_MAX_EVENTS];
	size_t n;
	int64_t t_us; /* time since REC_T0 */
	int full;
};

static void st_emit(struct stream *st, unsigned type, unsigned code, int value)
{
	struct input_event *ev;

	if (st->n == REC_MAX_EVENTS) {
		st->full = 1;
		return;
	}
	ev = &st->ev[st->n++];
	*ev = mkev(type, code, value);
	ev->input_event_sec = REC_T0 + st->t_us / 1000000;
	ev->input_event_usec = st->t_us % 1000000;
	if (type == EV_SYN)
		st->t_us += 4000; /* a scanner types a key every ~8 ms */
}

/* The HID usage (keyboard page) that a USB keyboard reports in MSC_SCAN. */
static unsigned hid_usage(unsigned code)
{
	static const unsigned short letters[26] = {
		KEY_A, KEY_B, KEY_C, KEY_D, KEY_E, KEY_F, KEY_G, KEY_H, KEY_I,
		KEY_J, KEY_K, KEY_L, KEY_M, KEY_N, KEY_O, KEY_P, KEY_Q, KEY_R,
		KEY_S, KEY_T, KEY_U, KEY_V, KEY_W, KEY_X, KEY_Y, KEY_Z,
	};
	static const unsigned short kp[9] = { KEY_KP1, KEY_KP2, KEY_KP3, KEY_KP4, KEY_KP5,
					      KEY_KP6, KEY_KP7, KEY_KP8, KEY_KP9 };
	static const unsigned short other[][2] = {
		{ KEY_ENTER, 0x28 },     { KEY_ESC, 0x29 },        { KEY_TAB, 0x2b },
		{ KEY_SPACE, 0x2c },     { KEY_MINUS, 0x2d },      { KEY_EQUAL, 0x2e },
		{ KEY_SEMICOLON, 0x33 }, { KEY_DOT, 0x37 },        { KEY_SLASH, 0x38 },
		{ KEY_CAPSLOCK, 0x39 },  { KEY_F1, 0x3a },         { KEY_NUMLOCK, 0x53 },
		{ KEY_KPSLASH, 0x54 },   { KEY_KPASTERISK, 0x55 }, { KEY_KPMINUS, 0x56 },
		{ KEY_KPPLUS, 0x57 },    { KEY_KPENTER, 0x58 },    { KEY_KP0, 0x62 },
		{ KEY_KPDOT, 0x63 },     { KEY_LEFTCTRL, 0xe0 },   { KEY_LEFTSHIFT, 0xe1 },
		{ KEY_RIGHTSHIFT, 0xe5 },
	};

	for (unsigned i = 0; i < 26; i++)
		if (letters[i] == code)
			return 0x04 + i;
	if (code >= KEY_1 && code <= KEY_0)
		return 0x1e + (code - KEY_1);
	for (unsigned i = 0; i < 9; i++)
		if (kp[i] == code)
			return 0x59 + i;
	for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
		if (other[i][0] == code)
			return other[i][1];
	return 0;
}

/* One key event as a USB keyboard sends it: scan code, key, report. */
static void st_key(struct stream *st, unsigned code, int value)
{
	unsigned usage = hid_usage(code);

	if (usage && value != 2)
		st_emit(st, EV_MSC, MSC_SCAN, (int)(0x70000 | usage));
	st_emit(st, EV_KEY, code, value);
	st_emit(st, EV_SYN, SYN_REPORT, 0);
}

static void st_tap(struct stream *st, unsigned shift_code, unsigned code)
{
	if (shift_code)
		st_key(st, shift_code, 1);
	st_key(st, code, 1);
	st_key(st, code, 0);
	if (shift_code)
		st_key(st, shift_code, 0);
}

struct typing {
	unsigned shift_code; /* KEY_LEFTSHIFT or KEY_RIGHTSHIFT */
	int caps_lock;       /* Caps Lock is on: letters typed inverted */
	int keypad;          /* digits and * + - . / from the keypad */
};

static unsigned keypad_key(char c)
{
	static const char chars[] = "0123456789*+-./";
	static const unsigned short codes[] = {
		KEY_KP0, KEY_KP1, KEY_KP2, KEY_KP3, KEY_KP4, KEY_KP5, KEY_KP6, KEY_KP7,
		KEY_KP8, KEY_KP9, KEY_KPASTERISK, KEY_KPPLUS, KEY_KPMINUS, KEY_KPDOT, KEY_KPSLASH,
	};
	const char *p = c ? strchr(chars, c) : NULL;

	return p ? codes[p - chars] : 0;
}

/* Type text (no line ends) as configured; the key for each character comes
 * from gw_evdev_encode_text, then the typist's habits are applied. */
static void st_type(struct stream *st, const char *text, const struct typing *how)
{
	for (size_t i = 0; text[i]; i++) {
		char one[2] = { text[i], '\0' };
		struct input_event ev[8];
		size_t n = gw_evdev_encode_text(one, ev, 8);
		int shift = n == 8;
		unsigned code = shift ? ev[2].code : ev[0].code;
		int letter = (text[i] >= 'a' && text[i] <= 'z') || (text[i] >= 'A' && text[i] <= 'Z');

		if (n == 0) {
			st->full = 1; /* cannot happen for our texts; fail the generator */
			return;
		}
		if (how->keypad && keypad_key(text[i])) {
			code = keypad_key(text[i]);
			shift = 0;
		}
		if (how->caps_lock && letter)
			shift = !shift;
		st_tap(st, shift ? how->shift_code : 0, code);
	}
}

struct recording {
	const char *name;
	const char *about;
};

/* The recorded streams: name, and how each is made (see make_recording). */
static const struct recording recordings[] = {
	{ "pass_enter", "phone pass, Left Shift, Enter" },
	{ "card_capslock_tab", "printed card, Caps Lock on, Right Shift for symbols, Tab" },
	{ "keypad_kpenter", "Base45 alphabet and pass, keypad digits/symbols, keypad Enter" },
	{ "noise_two_scans", "two scans with autorepeat, Ctrl, F1, Num Lock, overlapping shifts" },
};
#define N_RECORDINGS (sizeof recordings / sizeof recordings[0])

/* Build recording i into st and its expected text into want (cap bytes). */
static int make_recording(size_t i, struct stream *st, char *want, size_t cap)
{
	char pass[AS_SCAN_TEXT_MAX], card[AS_SCAN_TEXT_MAX];
	struct typing how = { KEY_LEFTSHIFT, 0, 0 };

	fixture_texts(pass, card);
	memset(st, 0, sizeof *st);
	switch (i) {
	case 0:
		st_type(st, pass, &how);
		st_tap(st, 0, KEY_ENTER);
		snprintf(want, cap, "%s\n", pass);
		break;
	case 1:
		how.shift_code = KEY_RIGHTSHIFT;
		how.caps_lock = 1;
		st_tap(st, 0, KEY_CAPSLOCK);
		st_emit(st, EV_LED, LED_CAPSL, 1); /* the kernel echoes the LED */
		st_emit(st, EV_SYN, SYN_REPORT, 0);
		st_type(st, card, &how);
		st_tap(st, 0, KEY_TAB);
		st_tap(st, 0, KEY_CAPSLOCK);
		st_emit(st, EV_LED, LED_CAPSL, 0);
		st_emit(st, EV_SYN, SYN_REPORT, 0);
		snprintf(want, cap, "%s\n", card);
		break;
	case 2:
		how.shift_code = KEY_RIGHTSHIFT;
		how.keypad = 1;
		st_type(st, base45_alphabet, &how);
		st_tap(st, 0, KEY_KPENTER);
		st_type(st, pass, &how);
		st_tap(st, 0, KEY_KPENTER);
		snprintf(want, cap, "%s\n%s\n", base45_alphabet, pass);
		break;
	case 3:
		st_tap(st, 0, KEY_NUMLOCK);
		st_tap(st, KEY_LEFTCTRL, KEY_F1);
		/* "AP1:" with the A held long enough to autorepeat, shift too */
		st_key(st, KEY_LEFTSHIFT, 1);
		st_key(st, KEY_A, 1);
		st_key(st, KEY_LEFTSHIFT, 2);
		st_key(st, KEY_A, 2);
		st_key(st, KEY_A, 2);
		st_key(st, KEY_A, 0);
		/* right shift pressed before left is released */
		st_key(st, KEY_RIGHTSHIFT, 1);
		st_key(st, KEY_LEFTSHIFT, 0);
		st_key(st, KEY_P, 1);
		st_key(st, KEY_P, 0);
		st_key(st, KEY_RIGHTSHIFT, 0);
		st_type(st, "1:", &how);
		st_type(st, base45_alphabet, &how);
		st_tap(st, 0, KEY_ENTER);
		st_key(st, KEY_ESC, 1); /* a stray key between scans */
		st_key(st, KEY_ESC, 0);
		st_type(st, card, &how);
		st_tap(st, 0, KEY_ENTER);
		snprintf(want, cap, "AP1:%s\n%s\n", base45_alphabet, card);
		break;
	default:
		return -1;
	}
	return st->full ? -1 : 0;
}

static char *path_join(char *out, size_t cap, const char *dir, const char *name,
		       const char *ext)
{
	snprintf(out, cap, "%s/%s%s", dir, name, ext);
	return out;
}

static int write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (!f) {
		perror(path);
		return -1;
	}
	ok = fwrite(data, 1, n, f) == n;
	ok = fclose(f) == 0 && ok;
	if (!ok)
		perror(path);
	return ok ? 0 : -1;
}

/* `test_evdev --write DIR`: write NAME.bin and NAME.txt for each recording. */
static int write_recordings(const char *dir)
{
	static struct stream st;
	static uint8_t raw[REC_MAX_EVENTS * REC_SIZE];
	char want[4 * AS_SCAN_TEXT_MAX], path[512];

	for (size_t i = 0; i < N_RECORDINGS; i++) {
		if (make_recording(i, &st, want, sizeof want) != 0) {
			fprintf(stderr, "recording %s does not fit\n", recordings[i].name);
			return 1;
		}
		for (size_t k = 0; k < st.n; k++)
			native_to_rec(&st.ev[k], raw + k * REC_SIZE);
		if (write_file(path_join(path, sizeof path, dir, recordings[i].name, ".bin"), raw,
			       st.n * REC_SIZE) != 0 ||
		    write_file(path_join(path, sizeof path, dir, recordings[i].name, ".txt"), want,
			       strlen(want)) != 0)
			return 1;
		printf("%s: %zu events, %zu characters (%s)\n", recordings[i].name, st.n,
		       strlen(want), recordings[i].about);
	}
	return 0;
}

/* Read a whole file (at most max bytes) into a malloc'd buffer. */
static uint8_t *read_file(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t n;

	if (!f)
		return NULL;
	buf = malloc(max + 1);
	if (buf) {
		n = fread(buf, 1, max + 1, f);
		if (ferror(f) || n > max) {
			free(buf);
			buf = NULL;
		} else {
			*len = n;
		}
	}
	fclose(f);
	return buf;
}

/*
 * Push n bytes of native struct input_event through a pipe and decode what
 * comes out of the read end, the way the daemon reads a device: whole
 * records, with partial ones (a pipe, unlike a device, may split them) kept
 * for the next read.  Single-threaded: both ends are non-blocking, and the
 * writer writes in odd-sized pieces while the reader drains.  Returns the
 * text length or -1.
 */
static int decode_through_pipe(const uint8_t *bytes, size_t n, char *out, size_t cap)
{
	unsigned char rbuf[64 * sizeof(struct input_event)];
	struct gw_evdev_decoder d;
	size_t written = 0, have = 0, len = 0;
	int p[2], rc = -1;

	if (pipe(p) != 0)
		return -1;
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) != 0 || fcntl(p[1], F_SETFL, O_NONBLOCK) != 0)
		goto out;
	gw_evdev_decoder_init(&d);
	/* Bounded: each round writes or reads at least one byte, or fails. */
	for (size_t round = 0; round < 4 * n + 16; round++) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		ssize_t r;

		if (p[1] >= 0 && written < n) {
			size_t piece = n - written < 1000 ? n - written : 1000;
			ssize_t w = write(p[1], bytes + written, piece);

			if (w > 0)
				written += (size_t)w;
			else if (w < 0 && errno != EAGAIN)
				goto out;
		}
		if (p[1] >= 0 && written == n) {
			close(p[1]); /* end of input: the reader sees EOF after the data */
			p[1] = -1;
		}
		if (poll(&pfd, 1, 10000) != 1) /* a deadline, not a delay */
			goto out;
		r = read(p[0], rbuf + have, sizeof rbuf - have);
		if (r < 0 && errno == EAGAIN)
			continue;
		if (r < 0)
			goto out;
		if (r == 0) {
			rc = have == 0 ? (int)len : -1; /* no half record at the end */
			goto out;
		}
		have += (size_t)r;
		size_t whole = have / sizeof(struct input_event);
		for (size_t k = 0; k < whole; k++) {
			struct input_event ev;
			int c;

			memcpy(&ev, rbuf + k * sizeof ev, sizeof ev);
			c = gw_evdev_decode(&d, &ev);
			if (c == 0)
				continue;
			if (len + 1 >= cap)
				goto out;
			out[len++] = (char)c;
			out[len] = '\0';
		}
		memmove(rbuf, rbuf + whole * sizeof(struct input_event),
			have - whole * sizeof(struct input_event));
		have -= whole * sizeof(struct input_event);
	}
out:
	close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	return rc;
}

static int host_is_x86_64_layout(void)
{
	const uint16_t one = 1;

	return sizeof(struct input_event) == REC_SIZE && *(const uint8_t *)&one == 1;
}

/* Decode data_dir/evdev/NAME.bin through a pipe; compare with NAME.txt. */
static void check_recording(const char *dir, const char *name)
{
	char path[512], got[4 * AS_SCAN_TEXT_MAX];
	uint8_t *bin, *txt = NULL;
	struct input_event *native = NULL;
	size_t bin_len = 0, txt_len = 0, count;

	test_ctx("%s/%s.bin", dir, name);
	bin = read_file(path_join(path, sizeof path, dir, name, ".bin"),
			REC_MAX_EVENTS * REC_SIZE, &bin_len);
	txt = read_file(path_join(path, sizeof path, dir, name, ".txt"), sizeof got - 1,
			&txt_len);
	if (!CHECK(bin != NULL) || !CHECK(txt != NULL))
		goto out;
	if (!CHECK(bin_len > 0 && bin_len % REC_SIZE == 0))
		goto out;
	count = bin_len / REC_SIZE;
	native = calloc(count, sizeof *native);
	if (!CHECK(native != NULL))
		goto out;
	for (size_t k = 0; k < count; k++)
		rec_to_native(bin + k * REC_SIZE, &native[k]);
	/* on x86_64 (and arm64) the file is the kernel's own bytes */
	if (host_is_x86_64_layout())
		CHECK_MEM(native, bin, bin_len);
	if (CHECK_RC(decode_through_pipe((const uint8_t *)native, count * sizeof *native, got,
					 sizeof got),
		     (int)txt_len))
		CHECK_MEM(got, txt, txt_len);
out:
	test_ctx_clear();
	free(bin);
	free(txt);
	free(native);
}

static const char *data_dir(char *buf, size_t cap)
{
	const char *env = getenv("ANSHIM_TEST_DATA");

	if (env && env[0]) {
		snprintf(buf, cap, "%s/evdev", env);
	} else { /* run by hand: the source tree's data, found from this file */
		const char *slash = strrchr(__FILE__, '/');
		int dirlen = slash ? (int)(slash - __FILE__) : 1;

		snprintf(buf, cap, "%.*s/../data/evdev", dirlen, slash ? __FILE__ : ".");
	}
	return buf;
}

static void test_recorded_streams(void)
{
	char dir[400];
	DIR *d;
	struct dirent *e;
	int bins = 0;

	data_dir(dir, sizeof dir);
	/* the known recordings must all be there ... */
	for (size_t i = 0; i < N_RECORDINGS; i++)
		check_recording(dir, recordings[i].name);
	/* ... and any other .bin dropped in (e.g. a capture from a real scanner)
	 * needs its .txt and must decode to it too */
	d = opendir(dir);
	if (!CHECK(d != NULL))
		return;
	for (int i = 0; i < 1000 && (e = readdir(d)) != NULL; i++) {
		size_t n = strlen(e->d_name);
		char name[256];
		int known = 0;

		if (n <= 4 || n >= sizeof name || strcmp(e->d_name + n - 4, ".bin") != 0)
			continue;
		bins++;
		memcpy(name, e->d_name, n - 4);
		name[n - 4] = '\0';
		for (size_t k = 0; k < N_RECORDINGS; k++)
			known |= strcmp(name, recordings[k].name) == 0;
		if (!known)
			check_recording(dir, name);
	}
	closedir(d);
	CHECK(bins >= (int)N_RECORDINGS);
}

/* The generator still makes streams that decode to their texts (the
 * checked-in files are not required to match it byte for byte: they are
 * fixed inputs, kept even if the typist changes). */
static void test_generator_streams_decode(void)
{
	static struct stream st;
	static char got[4 * AS_SCAN_TEXT_MAX];
	char want[4 * AS_SCAN_TEXT_MAX];

	for (size_t i = 0; i < N_RECORDINGS; i++) {
		test_ctx("%s", recordings[i].name);
		if (!CHECK_OK(make_recording(i, &st, want, sizeof want)))
			continue;
		if (CHECK_RC(decode_all(st.ev, st.n, got, sizeof got), (int)strlen(want)))
			CHECK_STR(got, want);
	}
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--write") == 0)
		return write_recordings(argv[2]);
	if (argc != 1) {
		fprintf(stderr, "usage: %s [--write DIR]\n", argv[0]);
		return 2;
	}
	TEST_RUN(test_layout_table);
	TEST_RUN(test_unknown_keys_type_nothing);
	TEST_RUN(test_shift_keys);
	TEST_RUN(test_caps_lock);
	TEST_RUN(test_autorepeat_ignored);
	TEST_RUN(test_non_key_events_ignored);
	TEST_RUN(test_round_trip_pass_texts);
	TEST_RUN(test_round_trip_printable_ascii);
	TEST_RUN(test_encode_limits);
	TEST_RUN(test_open_errors);
	TEST_RUN(test_generator_streams_decode);
	TEST_RUN(test_recorded_streams);
	return TEST_DONE();
}

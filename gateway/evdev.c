/*
 * evdev.c - decode a HID keyboard-style barcode scanner's evdev events.
 *
 * A scanner in keyboard mode types its text: for each character a key
 * press and a key release, with Shift held around uppercase letters and
 * upper symbols, each event followed by EV_SYN (and often preceded by an
 * EV_MSC/MSC_SCAN carrying the HID usage).  The decoder keeps only the
 * state that changes which character a key types - the two Shift keys and
 * Caps Lock - and maps each key press through one US-layout table.
 *
 * Invariants: keymap[] covers key codes 0..KEYMAP_SIZE-1 and nothing else;
 * an entry with plain == 0 is "types nothing"; every character in it is
 * 1..127.  Decoding never reads beyond the one event given and never
 * allocates, so any event stream, however hostile, costs O(1) per event.
 *
 * The decoder and encoder are pure and run on any thread (one decoder per
 * thread at a time); gw_evdev_open makes blocking syscalls and belongs at
 * start-up or off the event loop.
 */
#include "evdev.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define KEYMAP_SIZE 128

struct keymap_entry {
	char plain;   /* typed without shift; 0: the key types nothing */
	char shifted; /* typed with shift (for letters: the uppercase) */
	char keypad;  /* a keypad key: shift-independent, not used to encode */
};

#define K(code, p, s) [code] = { (p), (s), 0 }
#define KP(code, c) [code] = { (c), (c), 1 }

/* The US layout, main keyboard and keypad. */
static const struct keymap_entry keymap[KEYMAP_SIZE] = {
	K(KEY_GRAVE, '`', '~'),
	K(KEY_1, '1', '!'), K(KEY_2, '2', '@'), K(KEY_3, '3', '#'), K(KEY_4, '4', '$'),
	K(KEY_5, '5', '%'), K(KEY_6, '6', '^'), K(KEY_7, '7', '&'), K(KEY_8, '8', '*'),
	K(KEY_9, '9', '('), K(KEY_0, '0', ')'),
	K(KEY_MINUS, '-', '_'), K(KEY_EQUAL, '=', '+'),
	K(KEY_TAB, '\n', '\n'),
	K(KEY_Q, 'q', 'Q'), K(KEY_W, 'w', 'W'), K(KEY_E, 'e', 'E'), K(KEY_R, 'r', 'R'),
	K(KEY_T, 't', 'T'), K(KEY_Y, 'y', 'Y'), K(KEY_U, 'u', 'U'), K(KEY_I, 'i', 'I'),
	K(KEY_O, 'o', 'O'), K(KEY_P, 'p', 'P'),
	K(KEY_LEFTBRACE, '[', '{'), K(KEY_RIGHTBRACE, ']', '}'),
	K(KEY_ENTER, '\n', '\n'),
	K(KEY_A, 'a', 'A'), K(KEY_S, 's', 'S'), K(KEY_D, 'd', 'D'), K(KEY_F, 'f', 'F'),
	K(KEY_G, 'g', 'G'), K(KEY_H, 'h', 'H'), K(KEY_J, 'j', 'J'), K(KEY_K, 'k', 'K'),
	K(KEY_L, 'l', 'L'),
	K(KEY_SEMICOLON, ';', ':'), K(KEY_APOSTROPHE, '\'', '"'), K(KEY_BACKSLASH, '\\', '|'),
	K(KEY_Z, 'z', 'Z'), K(KEY_X, 'x', 'X'), K(KEY_C, 'c', 'C'), K(KEY_V, 'v', 'V'),
	K(KEY_B, 'b', 'B'), K(KEY_N, 'n', 'N'), K(KEY_M, 'm', 'M'),
	K(KEY_COMMA, ',', '<'), K(KEY_DOT, '.', '>'), K(KEY_SLASH, '/', '?'),
	K(KEY_SPACE, ' ', ' '),
	KP(KEY_KPASTERISK, '*'), KP(KEY_KPMINUS, '-'), KP(KEY_KPPLUS, '+'),
	KP(KEY_KPDOT, '.'), KP(KEY_KPSLASH, '/'), KP(KEY_KPENTER, '\n'),
	KP(KEY_KP0, '0'), KP(KEY_KP1, '1'), KP(KEY_KP2, '2'), KP(KEY_KP3, '3'),
	KP(KEY_KP4, '4'), KP(KEY_KP5, '5'), KP(KEY_KP6, '6'), KP(KEY_KP7, '7'),
	KP(KEY_KP8, '8'), KP(KEY_KP9, '9'),
};

#undef K
#undef KP

#define KEY_RELEASE 0
#define KEY_PRESS 1
#define KEY_AUTOREPEAT 2

void gw_evdev_decoder_init(struct gw_evdev_decoder *d)
{
	d->shift_left = 0;
	d->shift_right = 0;
	d->caps_lock = 0;
}

int gw_evdev_decode(struct gw_evdev_decoder *d, const struct input_event *ev)
{
	const struct keymap_entry *k;
	int shift;

	if (ev->type != EV_KEY)
		return 0;
	switch (ev->code) {
	case KEY_LEFTSHIFT:
		if (ev->value == KEY_PRESS || ev->value == KEY_RELEASE)
			d->shift_left = ev->value == KEY_PRESS;
		return 0;
	case KEY_RIGHTSHIFT:
		if (ev->value == KEY_PRESS || ev->value == KEY_RELEASE)
			d->shift_right = ev->value == KEY_PRESS;
		return 0;
	case KEY_CAPSLOCK:
		if (ev->value == KEY_PRESS)
			d->caps_lock = !d->caps_lock;
		return 0;
	default:
		break;
	}
	if (ev->value != KEY_PRESS || ev->code >= KEYMAP_SIZE)
		return 0;
	k = &keymap[ev->code];
	if (k->plain == 0 || k->keypad)
		return k->plain;
	shift = d->shift_left || d->shift_right;
	if (k->plain >= 'a' && k->plain <= 'z')
		shift ^= d->caps_lock;
	return shift ? k->shifted : k->plain;
}

int gw_evdev_open(const char *path, int *fd_out)
{
	int fd, err;

	*fd_out = -1;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, EVIOCGRAB, 1) != 0) {
		err = errno;
		close(fd);
		return -err;
	}
	*fd_out = fd;
	return 0;
}

/* The main-keyboard key that types c, and whether it needs shift; 0 if
 * none does.  '\n' and '\t' are typed with Enter and Tab. */
static unsigned short evdev_key_for(char c, int *shift)
{
	*shift = 0;
	if (c == '\n')
		return KEY_ENTER;
	if (c == '\t')
		return KEY_TAB;
	for (unsigned code = 0; code < KEYMAP_SIZE; code++)
		if (!keymap[code].keypad && keymap[code].plain == c)
			return (unsigned short)code;
	for (unsigned code = 0; code < KEYMAP_SIZE; code++)
		if (!keymap[code].keypad && keymap[code].shifted == c) {
			*shift = 1;
			return (unsigned short)code;
		}
	return 0;
}

/* Append one event and its EV_SYN; cap was checked by the caller. */
static size_t evdev_emit(struct input_event *out, size_t n, unsigned short code, int value)
{
	memset(&out[n], 0, 2 * sizeof out[n]);
	out[n].type = EV_KEY;
	out[n].code = code;
	out[n].value = value;
	out[n + 1].type = EV_SYN;
	out[n + 1].code = SYN_REPORT;
	out[n + 1].value = 0;
	return n + 2;
}

size_t gw_evdev_encode_text(const char *text, struct input_event *out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; text[i] != '\0'; i++) {
		int shift;
		unsigned short code = evdev_key_for(text[i], &shift);

		if (code == 0 || (size_t)(shift ? 8 : 4) > cap - n)
			return 0;
		if (shift)
			n = evdev_emit(out, n, KEY_LEFTSHIFT, KEY_PRESS);
		n = evdev_emit(out, n, code, KEY_PRESS);
		n = evdev_emit(out, n, code, KEY_RELEASE);
		if (shift)
			n = evdev_emit(out, n, KEY_LEFTSHIFT, KEY_RELEASE);
	}
	return n;
}

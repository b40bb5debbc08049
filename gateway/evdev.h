/*
 * evdev.h - a USB HID keyboard-style barcode scanner read through Linux evdev.
 *
 * Such a scanner "types" the QR text as key presses.  The decoder turns the
 * kernel's struct input_event stream back into characters, assuming the
 * scanner is set to the US keyboard layout (the factory default of most
 * scanners; other layouts would need another table).  Our QR texts use
 * only "AP1:"/"AC1:" and the Base45 alphabet (0-9 A-Z space $ % * + - . / :),
 * but the table covers all printable US-ASCII keys.
 *
 * Reading a device: open it with gw_evdev_open(), read() whole struct
 * input_event records from the fd (the kernel only returns whole records),
 * pass each to gw_evdev_decode(), and feed the characters it returns to a
 * gw_linebuf (Enter, keypad Enter and Tab all decode to '\n').
 */
#ifndef ANSHIM_GW_EVDEV_H
#define ANSHIM_GW_EVDEV_H

#include <linux/input.h>
#include <stddef.h>

/*
 * Modifier state of one device; caller-owned, one per device, plain data
 * (no cleanup).  caps_lock is the decoder's own toggle, counted from the
 * Caps Lock presses it has seen since gw_evdev_decoder_init (off at first);
 * the device's LED is not consulted.  Ctrl, Alt, Meta and Num Lock are not
 * tracked: scanners do not use them for our texts.
 */
struct gw_evdev_decoder {
	unsigned shift_left : 1, shift_right : 1, caps_lock : 1;
};

/* Reset d: no shift held, Caps Lock off. */
void gw_evdev_decoder_init(struct gw_evdev_decoder *d);

/*
 * Decode one event (borrowed, non-NULL).  Returns the character it types,
 * 1..127, or 0 when it types none.  Rules (US layout):
 *  - only EV_KEY events count; every other type (EV_SYN, EV_MSC scan codes,
 *    EV_LED, ...) returns 0 and leaves d unchanged;
 *  - value 1 (press) of a character key returns its character; value 0
 *    (release) and value 2 (autorepeat) return 0;
 *  - Left/Right Shift press and release set and clear their bit (autorepeat
 *    changes nothing); a Caps Lock press toggles caps_lock;
 *  - a letter is uppercase when exactly one of (either shift held,
 *    caps_lock) holds, so Shift + Caps Lock gives lowercase; Caps Lock does
 *    not affect digits or symbols; shift selects the upper symbol
 *    ('1' -> '!', '-' -> '_', ';' -> ':', ...);
 *  - keypad keys give their digit or symbol whatever the shift and Num Lock
 *    state ('*', '+', '-', '.', '/', '0'..'9');
 *  - KEY_ENTER, KEY_KPENTER and KEY_TAB (some scanners end with Tab) -> '\n';
 *  - every other key (function keys, Ctrl, Backspace, codes >= 128, ...)
 *    returns 0.
 * Pure; any thread, as long as one d is used by one thread at a time.
 */
int gw_evdev_decode(struct gw_evdev_decoder *d, const struct input_event *ev);

/*
 * Open the evdev device at path (e.g. /dev/input/by-id/...-event-kbd) with
 * O_RDONLY | O_NONBLOCK | O_CLOEXEC and grab it (EVIOCGRAB) so its
 * keystrokes reach only us, not the console or a login prompt.  On success
 * returns 0 and stores the fd in *fd_out; the caller owns it and must
 * close() it, which also releases the grab.  On failure returns -errno
 * (-ENOENT, -EACCES, -ENOTTY for a file that is not an evdev device, -EBUSY
 * if another process holds the grab, ...), stores -1 in *fd_out and leaves
 * nothing open.  Blocking syscalls only; call it off the event loop or at
 * start-up.
 */
int gw_evdev_open(const char *path, int *fd_out);

/*
 * For tests and tools: the events a scanner would send to type text
 * (NUL-terminated, borrowed) on a US keyboard with Caps Lock off.  Each
 * character becomes a key press and a key release, each followed by an
 * EV_SYN/SYN_REPORT; uppercase letters and upper symbols are wrapped in a
 * Left Shift press and release (each also followed by EV_SYN).  Digits and
 * symbols use the main keyboard, '\n' KEY_ENTER and '\t' KEY_TAB (which
 * decodes back to '\n').  Timestamps are zero.  Writes into out (caller-
 * owned, cap events) and returns the number of events written; returns 0
 * if cap is too small or a character cannot be typed (a control character
 * other than '\n'/'\t', or a byte >= 128) - and, naturally, for "".  At most
 * 8 events per character are needed.  Pure; any thread.
 */
size_t gw_evdev_encode_text(const char *text, struct input_event *out, size_t cap);

#endif

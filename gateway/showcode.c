/*
 * showcode.c - the rotating venue code on the gateway's screen (see
 * showcode.h): at each slot boundary, sign the code for the new slot with
 * the device key, rewrite the kiosk PNG and redraw the terminal.
 *
 * Invariants: the code shown is always the one for the slot holding the
 * wall clock when it was drawn; the PNG is replaced by rename, never
 * rewritten in place; the device key lives only in the caller's struct and
 * is wiped by gw_showcode_wipe.  The waits are sigtimedwait on the blocked
 * SIGINT/SIGTERM, so a stop request ends the loop at once instead of after
 * the slot.  Runs on the CLI's one thread; no network, no daemon.
 */
#include "showcode.h"

#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/fileio.h"
#include "anshim/keyfile.h"
#include "anshim/venuecode.h"

#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int gw_showcode_load_key(struct gw_showcode *sc, const char *state_dir, char *failed_path,
			 size_t failed_len)
{
	uint8_t pk[AS_SIGN_PK_LEN];
	int rc;

	snprintf(failed_path, failed_len, "%s/device.key", state_dir);
	rc = as_keyfile_read(failed_path, AS_KEY_SIGN_SECRET, sc->sk);
	if (rc)
		return rc;
	crypto_sign_ed25519_sk_to_pk(pk, sc->sk);
	as_gateway_id(sc->gw_id, pk);
	return 0;
}

void gw_showcode_wipe(struct gw_showcode *sc)
{
	sodium_memzero(sc->sk, sizeof sc->sk);
}

static int64_t wall_now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
	return (int64_t)ts->tv_sec;
}

/* The line under the code: venue, gateway, seconds left in the slot. */
static void print_status(const struct gw_showcode *sc, int64_t now)
{
	char id_hex[2 * AS_GWID_LEN + 1];
	int64_t left = as_venue_slot_start(now, sc->slot_seconds) + sc->slot_seconds - now;

	as_hex_encode(id_hex, sc->gw_id, AS_GWID_LEN);
	if (sc->redraw)
		fprintf(sc->out, "\r\033[Kvenue %u  gateway %.8s  %lld s left ", sc->venue_id,
			id_hex, (long long)left);
	else
		fprintf(sc->out, "venue %u  gateway %.8s  %lld s left\n", sc->venue_id, id_hex,
			(long long)left);
	fflush(sc->out);
}

int gw_showcode_render(const struct gw_showcode *sc, int64_t now)
{
	struct as_venue_code code;
	char text[AS_VENUE_CODE_TEXT_MAX];
	struct as_qr qr;
	int rc;

	rc = as_venue_code_rotating(&code, sc->venue_id, sc->gw_id, now, sc->slot_seconds,
				    sc->sk);
	if (!rc)
		rc = as_venue_code_to_text(text, sizeof text, &code);
	if (rc < 0)
		return rc;
	rc = as_qr_encode(&qr, text, 0);
	if (rc)
		return rc;
	if (sc->png_path) {
		unsigned char *png;
		size_t len;

		rc = as_qr_render_png(&qr, 8, &png, &len);
		if (!rc) {
			rc = as_file_write_atomic(sc->png_path, png, len, 0644, 0);
			free(png);
		}
	}
	if (!rc) {
		if (sc->redraw)
			fputs("\033[H\033[2J", sc->out);
		if (sc->format == AS_QR_TEXT)
			fprintf(sc->out, "%s\n", text);
		else
			rc = as_qr_print_terminal(sc->out, &qr, sc->format == AS_QR_ANSI);
		print_status(sc, now);
		if (ferror(sc->out))
			rc = -EIO;
	}
	as_qr_free(&qr);
	return rc;
}

int gw_showcode_run(const struct gw_showcode *sc, int once)
{
	struct timespec ts, wait;
	sigset_t stop, old;
	int64_t now, slot;
	int rc, sig;

	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &stop, &old))
		return -errno;
	now = wall_now(&ts);
	slot = as_venue_slot_start(now, sc->slot_seconds);
	rc = gw_showcode_render(sc, now);
	while (!rc && !once) {
		if (sc->redraw) { /* wake each second for the countdown */
			wait.tv_sec = 0;
			wait.tv_nsec = 1000000000L - ts.tv_nsec;
		} else {        /* wake at the slot boundary */
			wait.tv_sec = (time_t)(slot + sc->slot_seconds - now - 1);
			wait.tv_nsec = 1000000000L - ts.tv_nsec;
		}
		if (wait.tv_nsec >= 1000000000L) {
			wait.tv_sec++;
			wait.tv_nsec -= 1000000000L;
		}
		sig = sigtimedwait(&stop, NULL, &wait);
		if (sig == SIGINT || sig == SIGTERM)
			break;
		if (sig < 0 && errno != EAGAIN && errno != EINTR) {
			rc = -errno;
			break;
		}
		now = wall_now(&ts);
		if (as_venue_slot_start(now, sc->slot_seconds) != slot) {
			slot = as_venue_slot_start(now, sc->slot_seconds);
			rc = gw_showcode_render(sc, now);
		} else if (sc->redraw) {
			print_status(sc, now);
		}
	}
	if (sc->redraw)
		fputc('\n', sc->out);
	fflush(sc->out);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}

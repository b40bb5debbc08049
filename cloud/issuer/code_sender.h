/*
 * code_sender.h - sending a one-time code: run the configured command (an SMS
 * or KakaoTalk gateway's client, or in tests a sink that writes a file)
 * with the phone number and the message on its standard input:
 *
 *     +821012345678\n
 *     <message, one line>\n
 *
 * The command is run directly (no shell), with no arguments besides its
 * own path, a minimal environment (PATH, LANG=C.UTF-8), stdout and stderr
 * to /dev/null (it must never print the phone into the issuer's log), and
 * a time limit: it is killed when it overruns.  Exit status 0 means sent.
 *
 * Any thread; each call runs one child and waits for it.
 */
#ifndef IS_SENDER_H
#define IS_SENDER_H

#include <stddef.h>
#include <stdint.h>

/*
 * Run command with phone and message on stdin; wait at most timeout_ms.
 * Returns 0 when it exited 0; otherwise an error (-errno when it could not
 * be run, AS_E_FIELD when it exited non-zero or was killed) with err
 * saying what happened, never the phone.
 */
int is_sender_send(const char *command, const char *phone, const char *message,
		   int64_t timeout_ms, char *err, size_t err_len);

/* Can command be run (an absolute path to an executable file)?  0, or an
 * error with err naming it and the fix: for --check-config. */
int is_sender_check(const char *command, char *err, size_t err_len);

#endif

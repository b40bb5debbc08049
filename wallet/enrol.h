/*
 * enrol.h - the wallet's side of the issuer (anshim-issuerd):
 *
 *   anshim-wallet consent --issuer URL [--ca FILE]
 *       show the consent text the issuer asks for;
 *   anshim-wallet enrol --dir DIR --issuer URL --phone NUMBER
 *                       [--ca FILE] [--yes] [--timeout S]
 *       show the consent text, ask for agreement, have a code sent to the
 *       phone, ask for the code, and keep the enrolment credential
 *       (DIR/enrolment, mode 0600, written atomically) and the issuer's
 *       key (DIR/issuer.pub); then fetch visit tokens;
 *   anshim-wallet tokens --dir DIR [--timeout S]
 *       top the visit tokens up to a full batch (DIR/tokens).
 *
 * Single-threaded CLI.  Each returns the process exit status (0, 1, or 2
 * for bad usage).
 */
#ifndef WALLET_ENROL_H
#define WALLET_ENROL_H

#include <stddef.h>
#include <stdint.h>

int wl_cmd_consent(int argc, char **argv);
int wl_cmd_enrol(int argc, char **argv);
int wl_cmd_tokens(int argc, char **argv);

/*
 * Top up the tokens of the wallet in dir (its lock held by the caller)
 * from the issuer in its wallet.conf, with its enrolment: when fewer than
 * `below` are usable, ask for enough to reach WL_TOKENS_BATCH usable (at
 * most one batch of 64).  *added gets the number added, *usable the
 * number usable afterwards.  0, or an error with err saying what failed
 * and what to do; AS_E_NOT_FOUND when the wallet is not enrolled.
 */
/* 'sync' tops the tokens up when fewer than this are unused. */
#define WL_TOKENS_TOPUP_BELOW 16

int wl_tokens_topup(const char *dir, size_t below, int64_t timeout, unsigned *added,
		    size_t *usable, char *err, size_t err_len);

#endif

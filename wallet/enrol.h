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
 *       key (DIR/issuer.pub); then fetch visit tokens.
 *
 * Single-threaded CLI.  Each returns the process exit status (0, 1, or 2
 * for bad usage).
 */
#ifndef WALLET_ENROL_H
#define WALLET_ENROL_H

int wl_cmd_consent(int argc, char **argv);
int wl_cmd_enrol(int argc, char **argv);

#endif

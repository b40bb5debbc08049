/*
 * image.h - read a venue code from a photo with zbarimg (zbar-tools), run
 * as a child process without a shell.
 */
#ifndef WALLET_IMAGE_H
#define WALLET_IMAGE_H

#include <stddef.h>

/*
 * Decode the QR codes in the image at path and copy the first one whose
 * text starts with prefix (e.g. "AV1:") into out (NUL-terminated).
 * Returns 0; AS_E_NOT_FOUND when the image holds no QR code, or none with
 * that prefix (*others says how many other codes it held); AS_E_OVERSIZE
 * when that code's text does not fit; -ENOENT when zbarimg is not
 * installed; -EIO when zbarimg failed (err says how).  Single-threaded
 * (it waits for the child).
 */
int wl_image_find_code(const char *path, const char *prefix, char *out, size_t cap,
		       int *others, char *err, size_t err_len);

#endif

/*
 * keyfile.c - typed key files (see keyfile.h for the format).
 *
 * Invariants: a secret is only ever written with mode 0600 through
 * as_file_write_atomic, and the text buffers that held it are wiped before
 * they are freed.  A secret whose file mode lets group or others in is
 * refused before its bytes are read.  Any thread.
 */
#include "anshim/keyfile.h"
#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_MAGIC "ANSHIM-KEY-1 "
#define KEY_MAX_BYTES 64

struct key_kind_info {
	const char *name;
	size_t len;
	int secret;
};

static const struct key_kind_info key_kinds[] = {
	[AS_KEY_SIGN_SECRET] = {"ed25519-secret", 64, 1},
	[AS_KEY_SIGN_PUBLIC] = {"ed25519-public", 32, 0},
	[AS_KEY_CONTACT_SECRET] = {"x25519-secret", 32, 1},
	[AS_KEY_CONTACT_PUBLIC] = {"x25519-public", 32, 0},
	[AS_KEY_PSEUDONYM] = {"pseudonym-secret", 32, 1},
};

size_t as_key_len(enum as_key_kind kind) { return key_kinds[kind].len; }
const char *as_key_kind_name(enum as_key_kind kind) { return key_kinds[kind].name; }
int as_key_is_secret(enum as_key_kind kind) { return key_kinds[kind].secret; }

int as_keyfile_write(const char *path, enum as_key_kind kind, const void *key,
		     int flags)
{
	const struct key_kind_info *k = &key_kinds[kind];
	char text[sizeof KEY_MAGIC + 32 + 2 * KEY_MAX_BYTES + 4];
	size_t head;
	int rc;

	head = (size_t)snprintf(text, sizeof text, KEY_MAGIC "%s\n", k->name);
	as_hex_encode(text + head, key, k->len);
	head += 2 * k->len;
	text[head++] = '\n';
	rc = as_file_write_atomic(path, text, head, k->secret ? 0600 : 0644, flags);
	sodium_memzero(text, sizeof text);
	return rc;
}

int as_keyfile_read(const char *path, enum as_key_kind kind, void *key)
{
	const struct key_kind_info *k = &key_kinds[kind];
	char text[sizeof KEY_MAGIC + 32 + 2 * KEY_MAX_BYTES + 8];
	char header[64];
	struct stat st;
	ssize_t n;
	size_t head_len;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	if (k->secret && (st.st_mode & 077)) {
		close(fd);
		return AS_E_KEY_PERMS;
	}
	n = read(fd, text, sizeof text - 1);
	if (n < 0)
		rc = -errno;
	close(fd);
	if (rc)
		return rc;
	text[n] = '\0';

	head_len = (size_t)snprintf(header, sizeof header, KEY_MAGIC "%s\n", k->name);
	if ((size_t)n != head_len + 2 * k->len + 1 ||
	    memcmp(text, header, head_len) != 0 || text[n - 1] != '\n') {
		rc = AS_E_KEY_FORMAT;
	} else {
		text[n - 1] = '\0';
		if (as_hex_decode(key, k->len, text + head_len) != 0)
			rc = AS_E_KEY_FORMAT;
	}
	sodium_memzero(text, sizeof text);
	return rc;
}

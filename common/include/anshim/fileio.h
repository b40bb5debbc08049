/*
 * fileio.h - durable whole-file writes and bounded whole-file reads.
 */
#ifndef ANSHIM_FILEIO_H
#define ANSHIM_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

enum as_write_flags {
	AS_WRITE_EXCLUSIVE = 1, /* fail with AS_E_EXISTS if path exists */
	/* When run as root, give the new file the owner and group of the file
	 * it replaces or, for a new file, of its directory: root's tools
	 * (e.g. 'anshim-cloud user add') keep a daemon's file its own. */
	AS_WRITE_KEEP_OWNER = 2,
	/* Any user: give the new file the group of the file it replaces (the
	 * caller must be root or a member of that group, else -EPERM), so a
	 * file shared with a group stays shared across the rewrite. */
	AS_WRITE_KEEP_GROUP = 4
};

/*
 * Replace path with len bytes of data, atomically and durably: write a
 * temporary file beside it with the given mode, fsync it, rename it over
 * path, then fsync the directory.  After a crash, path holds either the old
 * or the new content, never a mix.  With AS_WRITE_EXCLUSIVE the new file is
 * linked into place only if path does not exist yet (no race).  Returns 0 or
 * -errno / AS_E_EXISTS.  Any thread.
 */
int as_file_write_atomic(const char *path, const void *data, size_t len,
			 mode_t mode, int flags);

/*
 * Append len bytes of data to path (created with mode if absent) and fsync
 * it; a file this call created also has its directory synced.  A crash
 * leaves path with or without the new bytes, or with a prefix of them: a
 * line-per-record log ignores a last line without its end.  Returns 0 or
 * -errno.  Any thread (appends to one file from two threads may interleave
 * only if a write is split, which a short line's is not).
 */
int as_file_append_durable(const char *path, const void *data, size_t len, mode_t mode);

/*
 * Read all of path into a malloc'd buffer the caller frees.  Fails with
 * AS_E_OVERSIZE if the file is larger than max bytes.  *out_len receives
 * the length; the buffer has one extra NUL byte after it for text use.
 * Returns 0 or -errno.  Any thread.
 */
int as_file_read_all(const char *path, size_t max, unsigned char **out,
		     size_t *out_len);

/* Create dir (and missing parents) with mode if absent.  Returns 0 or
 * -errno. */
int as_mkdir_p(const char *dir, mode_t mode);

#endif

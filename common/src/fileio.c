/*
 * fileio.c - atomic durable file replacement (temp, fsync, rename/link,
 * fsync dir) and bounded reads.
 *
 * Invariant: a reader of path never sees a partially written file; a crash
 * leaves at most a stray "path.tmp.XXXXXX" beside it, which the next write
 * does not reuse.  Every system call result is checked.  Any thread.
 */
#include "anshim/fileio.h"
#include "anshim/error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_full(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The directory part of path ("." when it has none) into dir. */
static int parent_dir(char dir[PATH_MAX], const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash) {
		strcpy(dir, ".");
	} else if (slash == path) {
		strcpy(dir, "/");
	} else {
		size_t n = (size_t)(slash - path);
		if (n >= PATH_MAX)
			return -ENAMETOOLONG;
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	return 0;
}

static int fsync_parent_dir(const char *path)
{
	char dir[PATH_MAX];
	int fd, rc = parent_dir(dir, path);

	if (rc)
		return rc;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* AS_WRITE_KEEP_OWNER: as root, chown fd to the owner of path, or of its
 * directory when path does not exist. */
static int keep_owner(int fd, const char *path)
{
	char dir[PATH_MAX];
	struct stat st;
	int rc;

	if (geteuid() != 0)
		return 0;
	if (stat(path, &st) < 0) {
		if (errno != ENOENT)
			return -errno;
		if ((rc = parent_dir(dir, path)) != 0)
			return rc;
		if (stat(dir, &st) < 0)
			return -errno;
	}
	return fchown(fd, st.st_uid, st.st_gid) < 0 ? -errno : 0;
}

/* AS_WRITE_KEEP_GROUP: give fd the group of path, when path exists. */
static int keep_group(int fd, const char *path)
{
	struct stat st, mine;

	if (stat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &mine) < 0)
		return -errno;
	if (mine.st_gid == st.st_gid)
		return 0;
	return fchown(fd, (uid_t)-1, st.st_gid) < 0 ? -errno : 0;
}

int as_file_append_durable(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC), created = 0, rc;

	if (fd < 0 && errno == ENOENT) {
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, mode);
		created = 1;
	}
	if (fd < 0)
		return -errno;
	rc = write_full(fd, data, len);
	if (!rc && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && !rc)
		rc = -errno;
	if (!rc && created)
		rc = fsync_parent_dir(path);
	return rc;
}

int as_file_write_atomic(const char *path, const void *data, size_t len,
			 mode_t mode, int flags)
{
	char tmp[PATH_MAX];
	int fd, rc;

	if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
		return -ENAMETOOLONG;
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	rc = fchmod(fd, mode) < 0 ? -errno : 0;
	if (!rc && (flags & AS_WRITE_KEEP_OWNER))
		rc = keep_owner(fd, path);
	if (!rc && (flags & AS_WRITE_KEEP_GROUP))
		rc = keep_group(fd, path);
	/* A chown may clear set-id bits: the mode is set last. */
	if (!rc && (flags & (AS_WRITE_KEEP_OWNER | AS_WRITE_KEEP_GROUP)))
		rc = fchmod(fd, mode) < 0 ? -errno : 0;
	if (!rc)
		rc = write_full(fd, data, len);
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc) {
		if (flags & AS_WRITE_EXCLUSIVE) {
			/* link() fails if path exists, so no check-then-act race. */
			if (link(tmp, path) < 0)
				rc = errno == EEXIST ? AS_E_EXISTS : -errno;
			unlink(tmp);
		} else if (rename(tmp, path) < 0) {
			rc = -errno;
		}
	}
	if (rc) {
		unlink(tmp);
		return rc;
	}
	return fsync_parent_dir(path);
}

int as_file_read_all(const char *path, size_t max, unsigned char **out,
		     size_t *out_len)
{
	struct stat st;
	unsigned char *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*out = NULL;
	*out_len = 0;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if ((unsigned long long)st.st_size > max) {
		close(fd);
		return AS_E_OVERSIZE;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int rc = n < 0 ? -errno : AS_E_TRUNCATED;
			free(buf);
			close(fd);
			return rc;
		}
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*out = buf;
	*out_len = got;
	return 0;
}

/* mkdir that accepts an existing directory, and only a directory. */
static int mkdir_one(const char *path, mode_t mode)
{
	struct stat st;

	if (mkdir(path, mode) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	if (stat(path, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int as_mkdir_p(const char *dir, mode_t mode)
{
	char path[PATH_MAX];
	int rc;
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof path)
		return -ENAMETOOLONG;
	memcpy(path, dir, len + 1);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		rc = mkdir_one(path, mode);
		if (rc)
			return rc;
		*p = '/';
	}
	return mkdir_one(path, mode);
}

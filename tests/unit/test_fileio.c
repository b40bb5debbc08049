/*
 * test_fileio.c - atomic durable writes, durable appends, bounded
 * whole-file reads and mkdir -p (common/src/fileio.c), in a fresh mkdtemp directory under /tmp.
 */
#include "test.h"

#include "anshim/fileio.h"

#include <errno.h>
#include <sys/stat.h>

static char dir[64];

static const char *path_in_dir(char buf[256], const char *name)
{
	snprintf(buf, 256, "%s/%s", dir, name);
	return buf;
}

static mode_t file_mode(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

/* The file holds exactly len bytes of want. */
static int check_content(const char *path, const void *want, size_t len)
{
	unsigned char *data;
	size_t got;
	int ok;

	if (!CHECK_OK(as_file_read_all(path, len + 1, &data, &got)))
		return 0;
	ok = CHECK_EQ_INT(got, len) && CHECK_MEM(data, want, len) && CHECK_EQ_INT(data[got], 0);
	free(data);
	return ok;
}

static void test_write_and_replace(void)
{
	char path[256];

	path_in_dir(path, "a.txt");
	CHECK_OK(as_file_write_atomic(path, "first", 5, 0640, 0));
	check_content(path, "first", 5);
	CHECK_EQ_INT(file_mode(path), 0640);
	/* Replacing changes content and mode together. */
	CHECK_OK(as_file_write_atomic(path, "second, longer", 14, 0600, 0));
	check_content(path, "second, longer", 14);
	CHECK_EQ_INT(file_mode(path), 0600);
	/* Shorter content leaves nothing of the old file behind. */
	CHECK_OK(as_file_write_atomic(path, "3", 1, 0644, 0));
	check_content(path, "3", 1);
	CHECK_EQ_INT(file_mode(path), 0644);
	/* An empty file is a file. */
	CHECK_OK(as_file_write_atomic(path, "", 0, 0644, 0));
	check_content(path, "", 0);
	CHECK_EQ_INT(test_dir_count(dir), 1); /* no "a.txt.tmp.*" left */
	unlink(path);
}

/* Appends create the file with the mode given, keep what is there, and
 * leave the mode of an existing file alone; a missing directory is an
 * error. */
static void test_append(void)
{
	char path[256];

	path_in_dir(path, "log.jsonl");
	CHECK_OK(as_file_append_durable(path, "one\n", 4, 0600));
	CHECK_EQ_INT(file_mode(path), 0600);
	CHECK_OK(as_file_append_durable(path, "two\n", 4, 0644));
	check_content(path, "one\ntwo\n", 8);
	CHECK_EQ_INT(file_mode(path), 0600);
	CHECK_OK(as_file_append_durable(path, "", 0, 0600));
	check_content(path, "one\ntwo\n", 8);
	unlink(path);
	path_in_dir(path, "missing/log.jsonl");
	CHECK_EQ_INT(as_file_append_durable(path, "x", 1, 0600), -ENOENT);
}

static void test_large_file(void)
{
	size_t len = 1u << 20;
	unsigned char *big = malloc(len);
	char path[256];

	if (!CHECK(big != NULL))
		return;
	test_fill(big, len, 11);
	path_in_dir(path, "big.bin");
	CHECK_OK(as_file_write_atomic(path, big, len, 0600, 0));
	check_content(path, big, len);
	free(big);
	unlink(path);
}

static void test_exclusive(void)
{
	char path[256];

	path_in_dir(path, "once.txt");
	CHECK_OK(as_file_write_atomic(path, "one", 3, 0600, AS_WRITE_EXCLUSIVE));
	CHECK_EQ_INT(file_mode(path), 0600);
	CHECK_RC(as_file_write_atomic(path, "two", 3, 0600, AS_WRITE_EXCLUSIVE), AS_E_EXISTS);
	check_content(path, "one", 3);
	CHECK_EQ_INT(test_dir_count(dir), 1);
	/* Without the flag the same path is replaced. */
	CHECK_OK(as_file_write_atomic(path, "two", 3, 0600, 0));
	check_content(path, "two", 3);
	unlink(path);
	CHECK_EQ_INT(test_dir_count(dir), 0);
}

static void test_write_errors(void)
{
	char path[256], name[5000];

	CHECK_RC(as_file_write_atomic("/nonexistent-anshim-dir/f", "x", 1, 0600, 0), -ENOENT);
	/* A directory in the way of a rename. */
	path_in_dir(path, "sub");
	CHECK_OK(mkdir(path, 0700));
	CHECK_RC(as_file_write_atomic(path, "x", 1, 0600, 0), -EISDIR);
	CHECK_RC(as_file_write_atomic(path, "x", 1, 0600, AS_WRITE_EXCLUSIVE), AS_E_EXISTS);
	CHECK_OK(rmdir(path));
	CHECK_EQ_INT(test_dir_count(dir), 0); /* failed writes clean up too */
	/* A path longer than PATH_MAX. */
	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	CHECK_RC(as_file_write_atomic(name, "x", 1, 0600, 0), -ENAMETOOLONG);
}

static void test_relative_path(void)
{
	char old[512];

	if (!CHECK(getcwd(old, sizeof old) != NULL) || !CHECK_OK(chdir(dir)))
		return;
	CHECK_OK(as_file_write_atomic("relative.txt", "rel", 3, 0644, 0));
	check_content("relative.txt", "rel", 3);
	unlink("relative.txt");
	CHECK_OK(chdir(old));
}

static void test_read_limits(void)
{
	unsigned char *data = (unsigned char *)"sentinel";
	size_t len = 99;
	char path[256];

	path_in_dir(path, "ten.txt");
	CHECK_OK(as_file_write_atomic(path, "0123456789", 10, 0644, 0));
	if (CHECK_OK(as_file_read_all(path, 10, &data, &len))) {
		CHECK_EQ_INT(len, 10);
		free(data);
	}
	CHECK_RC(as_file_read_all(path, 9, &data, &len), AS_E_OVERSIZE);
	CHECK(data == NULL);
	CHECK_EQ_INT(len, 0);
	CHECK_RC(as_file_read_all(path, 0, &data, &len), AS_E_OVERSIZE);
	unlink(path);

	CHECK_RC(as_file_read_all(path, 10, &data, &len), -ENOENT);
	CHECK(data == NULL);
	CHECK_RC(as_file_read_all(dir, 1 << 20, &data, &len), -EINVAL); /* a directory */
	CHECK_RC(as_file_read_all("/dev/null", 10, &data, &len), -EINVAL); /* not regular */
}

static void test_mkdir_p(void)
{
	char path[256], deep[256];
	struct stat st;

	path_in_dir(deep, "x/y/z");
	CHECK_OK(as_mkdir_p(deep, 0750));
	CHECK(stat(deep, &st) == 0 && S_ISDIR(st.st_mode));
	CHECK_OK(as_mkdir_p(deep, 0750)); /* already there */
	path_in_dir(path, "x/y/z/w/");    /* trailing slash */
	CHECK_OK(as_mkdir_p(path, 0700));
	CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
	path_in_dir(path, "x//y//v");     /* doubled slashes */
	CHECK_OK(as_mkdir_p(path, 0700));
	CHECK_OK(as_mkdir_p("/", 0700));
	CHECK_RC(as_mkdir_p("", 0700), -ENAMETOOLONG);

	/* A file where a parent directory should be. */
	path_in_dir(path, "file");
	CHECK_OK(as_file_write_atomic(path, "f", 1, 0600, 0));
	path_in_dir(path, "file/sub");
	CHECK_RC(as_mkdir_p(path, 0700), -ENOTDIR);
	{
		/* A regular file at the leaf is not a directory (was a bug:
		 * mkdir's EEXIST was accepted without a check). */
		CHECK_RC(as_mkdir_p(path_in_dir(path, "file"), 0700), -ENOTDIR);
	}

	rmdir(path_in_dir(path, "x/y/z/w"));
	rmdir(path_in_dir(path, "x/y/z"));
	rmdir(path_in_dir(path, "x/y/v"));
	rmdir(path_in_dir(path, "x/y"));
	rmdir(path_in_dir(path, "x"));
	unlink(path_in_dir(path, "file"));
	CHECK_EQ_INT(test_dir_count(dir), 0);
}

int main(void)
{
	test_tmpdir(dir);
	TEST_RUN(test_write_and_replace);
	TEST_RUN(test_append);
	TEST_RUN(test_large_file);
	TEST_RUN(test_exclusive);
	TEST_RUN(test_write_errors);
	TEST_RUN(test_relative_path);
	TEST_RUN(test_read_limits);
	TEST_RUN(test_mkdir_p);
	test_rmdir(dir);
	return TEST_DONE();
}

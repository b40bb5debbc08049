/*
 * test_keyfile.c - typed key files (common/src/keyfile.c): round trip of
 * every kind, file modes, refusal of secrets readable by others, refusal of
 * the wrong kind and of damaged files, exclusive writes, and no temporary
 * files left behind.  Works in a fresh mkdtemp directory under /tmp.
 */
#include "test.h"

#include "anshim/bytes.h"
#include "anshim/fileio.h"
#include "anshim/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

static const enum as_key_kind all_kinds[] = {
	AS_KEY_SIGN_SECRET, AS_KEY_SIGN_PUBLIC, AS_KEY_CONTACT_SECRET,
	AS_KEY_CONTACT_PUBLIC, AS_KEY_PSEUDONYM,
};
#define N_KINDS (sizeof all_kinds / sizeof all_kinds[0])

static char dir[64];

static const char *path_in_dir(char buf[128], const char *name)
{
	snprintf(buf, 128, "%s/%s", dir, name);
	return buf;
}

static mode_t file_mode(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

/* Write raw text as a file with the given mode (for damaged files). */
static void write_raw(const char *path, const char *text, size_t len, mode_t mode)
{
	CHECK_OK(as_file_write_atomic(path, text, len, mode, 0));
}

static void test_kind_table(void)
{
	CHECK_EQ_INT(as_key_len(AS_KEY_SIGN_SECRET), 64);
	CHECK_EQ_INT(as_key_len(AS_KEY_SIGN_PUBLIC), 32);
	CHECK_EQ_INT(as_key_len(AS_KEY_CONTACT_SECRET), 32);
	CHECK_EQ_INT(as_key_len(AS_KEY_CONTACT_PUBLIC), 32);
	CHECK_EQ_INT(as_key_len(AS_KEY_PSEUDONYM), 32);
	CHECK(as_key_is_secret(AS_KEY_SIGN_SECRET));
	CHECK(!as_key_is_secret(AS_KEY_SIGN_PUBLIC));
	CHECK(as_key_is_secret(AS_KEY_CONTACT_SECRET));
	CHECK(!as_key_is_secret(AS_KEY_CONTACT_PUBLIC));
	CHECK(as_key_is_secret(AS_KEY_PSEUDONYM));
	for (size_t i = 0; i < N_KINDS; i++)
		for (size_t j = i + 1; j < N_KINDS; j++)
			CHECK(strcmp(as_key_kind_name(all_kinds[i]),
				     as_key_kind_name(all_kinds[j])) != 0);
}

static void test_round_trip_every_kind(void)
{
	uint8_t key[64], back[64];
	char path[128], name[32];

	for (size_t i = 0; i < N_KINDS; i++) {
		enum as_key_kind kind = all_kinds[i];
		size_t len = as_key_len(kind);

		test_ctx("kind %s", as_key_kind_name(kind));
		snprintf(name, sizeof name, "key-%zu", i);
		path_in_dir(path, name);
		test_fill(key, sizeof key, (unsigned)(50 + i));
		if (!CHECK_OK(as_keyfile_write(path, kind, key, 0)))
			continue;
		CHECK_EQ_INT(file_mode(path), as_key_is_secret(kind) ? 0600 : 0644);
		memset(back, 0, sizeof back);
		CHECK_OK(as_keyfile_read(path, kind, back));
		CHECK_MEM(back, key, len);
		/* Overwriting without flags replaces the key atomically. */
		key[0] ^= 0xff;
		CHECK_OK(as_keyfile_write(path, kind, key, 0));
		CHECK_OK(as_keyfile_read(path, kind, back));
		CHECK_MEM(back, key, len);
		CHECK_OK(unlink(path));
	}
	test_ctx_clear();
	CHECK_EQ_INT(test_dir_count(dir), 0); /* no temp files left behind */
}

static void test_file_format(void)
{
	uint8_t key[32];
	unsigned char *text;
	size_t len;
	char path[128];
	char want[200], hex[65];

	test_fill(key, sizeof key, 1);
	path_in_dir(path, "format.pub");
	CHECK_OK(as_keyfile_write(path, AS_KEY_SIGN_PUBLIC, key, 0));
	as_hex_encode(hex, key, sizeof key);
	snprintf(want, sizeof want, "ANSHIM-KEY-1 ed25519-public\n%s\n", hex);
	if (CHECK_OK(as_file_read_all(path, 4096, &text, &len))) {
		CHECK_STR((char *)text, want);
		free(text);
	}
	unlink(path);
}

static void test_secret_permissions(void)
{
	static const mode_t bad_modes[] = {0640, 0604, 0660, 0620, 0602, 0644, 0666, 0610};
	uint8_t key[64], back[64];
	char path[128];

	test_fill(key, sizeof key, 2);
	path_in_dir(path, "device.key");
	CHECK_OK(as_keyfile_write(path, AS_KEY_SIGN_SECRET, key, 0));
	for (size_t i = 0; i < sizeof bad_modes / sizeof bad_modes[0]; i++) {
		test_ctx("mode %04o", (unsigned)bad_modes[i]);
		CHECK_OK(chmod(path, bad_modes[i]));
		CHECK_RC(as_keyfile_read(path, AS_KEY_SIGN_SECRET, back), AS_E_KEY_PERMS);
	}
	test_ctx_clear();
	/* Owner-only modes are fine, even 0400 and 0700. */
	CHECK_OK(chmod(path, 0400));
	CHECK_OK(as_keyfile_read(path, AS_KEY_SIGN_SECRET, back));
	CHECK_OK(chmod(path, 0700));
	CHECK_OK(as_keyfile_read(path, AS_KEY_SIGN_SECRET, back));
	CHECK_MEM(back, key, 64);
	/* Public keys are not permission-checked. */
	path_in_dir(path, "device.pub");
	CHECK_OK(as_keyfile_write(path, AS_KEY_SIGN_PUBLIC, key, 0));
	CHECK_OK(chmod(path, 0666));
	CHECK_OK(as_keyfile_read(path, AS_KEY_SIGN_PUBLIC, back));
	unlink(path);
	unlink(path_in_dir(path, "device.key"));
}

static void test_wrong_kind(void)
{
	uint8_t key[64], back[64];
	char pub[128], sec[128], contact[128];

	test_fill(key, sizeof key, 3);
	path_in_dir(pub, "authority.pub");
	path_in_dir(sec, "authority.key");
	path_in_dir(contact, "contact.key");
	CHECK_OK(as_keyfile_write(pub, AS_KEY_SIGN_PUBLIC, key, 0));
	CHECK_OK(as_keyfile_write(sec, AS_KEY_SIGN_SECRET, key, 0));
	CHECK_OK(as_keyfile_write(contact, AS_KEY_CONTACT_SECRET, key, 0));

	/* A public key file (mode 0644) where a secret is expected: its mode is
	 * checked first, so it is refused for its permissions... */
	CHECK_RC(as_keyfile_read(pub, AS_KEY_SIGN_SECRET, back), AS_E_KEY_PERMS);
	/* ...and once private, for its kind. */
	CHECK_OK(chmod(pub, 0600));
	CHECK_RC(as_keyfile_read(pub, AS_KEY_SIGN_SECRET, back), AS_E_KEY_FORMAT);
	CHECK_RC(as_keyfile_read(pub, AS_KEY_CONTACT_SECRET, back), AS_E_KEY_FORMAT);
	/* A secret where a public key is expected. */
	CHECK_RC(as_keyfile_read(sec, AS_KEY_SIGN_PUBLIC, back), AS_E_KEY_FORMAT);
	/* Same length, different kind: X25519 secret vs pseudonym key vs
	 * X25519 public. */
	CHECK_RC(as_keyfile_read(contact, AS_KEY_PSEUDONYM, back), AS_E_KEY_FORMAT);
	CHECK_RC(as_keyfile_read(contact, AS_KEY_CONTACT_PUBLIC, back), AS_E_KEY_FORMAT);
	CHECK_RC(as_keyfile_read(contact, AS_KEY_SIGN_SECRET, back), AS_E_KEY_FORMAT);
	CHECK_OK(as_keyfile_read(contact, AS_KEY_CONTACT_SECRET, back));
	unlink(pub);
	unlink(sec);
	unlink(contact);
}

static void test_damaged_files(void)
{
	char good[300], text[300], path[128];
	uint8_t key[32], back[32];
	size_t len;

	test_fill(key, sizeof key, 4);
	len = (size_t)snprintf(good, sizeof good, "ANSHIM-KEY-1 x25519-secret\n");
	as_hex_encode(good + len, key, sizeof key);
	len += 64;
	good[len++] = '\n';
	good[len] = '\0';
	path_in_dir(path, "damaged.key");

	/* The hand-made file is accepted as is. */
	write_raw(path, good, len, 0600);
	CHECK_OK(as_keyfile_read(path, AS_KEY_CONTACT_SECRET, back));
	CHECK_MEM(back, key, 32);

	/* Every truncation is refused. */
	for (size_t n = 0; n < len; n++) {
		test_ctx("truncated to %zu bytes", n);
		write_raw(path, good, n, 0600);
		CHECK_RC(as_keyfile_read(path, AS_KEY_CONTACT_SECRET, back), AS_E_KEY_FORMAT);
	}
	test_ctx_clear();

	/* Garbled bytes in the header, the hex and the final newline. */
	for (size_t at = 0; at < len; at++) {
		memcpy(text, good, len);
		text[at] = text[at] == 'g' ? 'h' : 'g'; /* 'g' is never valid here */
		test_ctx("byte %zu garbled", at);
		write_raw(path, text, len, 0600);
		CHECK_RC(as_keyfile_read(path, AS_KEY_CONTACT_SECRET, back), AS_E_KEY_FORMAT);
	}
	test_ctx_clear();

	/* Extra bytes after the key, CRLF line ends, missing final newline. */
	memcpy(text, good, len);
	memcpy(text + len, "00\n", 3);
	write_raw(path, text, len + 3, 0600);
	CHECK_RC(as_keyfile_read(path, AS_KEY_CONTACT_SECRET, back), AS_E_KEY_FORMAT);
	memcpy(text, good, len - 1);
	memcpy(text + len - 1, "\r\n", 2);
	write_raw(path, text, len + 1, 0600);
	CHECK_RC(as_keyfile_read(path, AS_KEY_CONTACT_SECRET, back), AS_E_KEY_FORMAT);
	/* A large file is refused without reading all of it. */
	{
		static char big[8192];
		memset(big, 'a', sizeof big);
		write_raw(path, big, sizeof big, 0600);
		CHECK_RC(as_keyfile_read(path, AS_KEY_CONTACT_SECRET, back), AS_E_KEY_FORMAT);
	}
	/* Upper-case hex is still the same key. */
	memcpy(text, good, len + 1);
	for (size_t i = 27; i < len - 1; i++)
		if (text[i] >= 'a' && text[i] <= 'f')
			text[i] = (char)(text[i] - 'a' + 'A');
	write_raw(path, text, len, 0600);
	CHECK_OK(as_keyfile_read(path, AS_KEY_CONTACT_SECRET, back));
	CHECK_MEM(back, key, 32);
	unlink(path);
}

static void test_exclusive_and_missing(void)
{
	uint8_t key[32], other[32], back[32];
	char path[128], link_path[128];

	test_fill(key, sizeof key, 5);
	test_fill(other, sizeof other, 6);
	path_in_dir(path, "pseudonym.key");
	CHECK_OK(as_keyfile_write(path, AS_KEY_PSEUDONYM, key, AS_WRITE_EXCLUSIVE));
	CHECK_EQ_INT(file_mode(path), 0600);
	CHECK_RC(as_keyfile_write(path, AS_KEY_PSEUDONYM, other, AS_WRITE_EXCLUSIVE),
		 AS_E_EXISTS);
	CHECK_OK(as_keyfile_read(path, AS_KEY_PSEUDONYM, back));
	CHECK_MEM(back, key, 32); /* the first key survived */
	CHECK_EQ_INT(test_dir_count(dir), 1); /* and no temp file is left */

	/* Missing files and directories come back as -errno. */
	CHECK_RC(as_keyfile_read(path_in_dir(link_path, "absent.key"), AS_KEY_PSEUDONYM, back),
		 -ENOENT);
	CHECK_RC(as_keyfile_write("/nonexistent-anshim-dir/x.key", AS_KEY_PSEUDONYM, key, 0),
		 -ENOENT);
	/* A symlink is not followed (O_NOFOLLOW). */
	path_in_dir(link_path, "link.key");
	CHECK_OK(symlink(path, link_path));
	CHECK_RC(as_keyfile_read(link_path, AS_KEY_PSEUDONYM, back), -ELOOP);
	unlink(link_path);
	unlink(path);
	CHECK_EQ_INT(test_dir_count(dir), 0);
}

int main(void)
{
	struct test_keys keys;

	test_keys_init(&keys);
	test_tmpdir(dir);
	TEST_RUN(test_kind_table);
	TEST_RUN(test_round_trip_every_kind);
	TEST_RUN(test_file_format);
	TEST_RUN(test_secret_permissions);
	TEST_RUN(test_wrong_kind);
	TEST_RUN(test_damaged_files);
	TEST_RUN(test_exclusive_and_missing);
	test_rmdir(dir);
	return TEST_DONE();
}

/*
 * http_test.h - a tiny HTTP/1.1 client for the unit tests of the HTTP
 * server and the console's router: raw requests over a loopback socket
 * (Connection: close), the whole answer read with a 10 s deadline, its
 * status and headers looked at.  Not a parser: the tests compare text.
 */
#ifndef ANSHIM_HTTP_TEST_H
#define ANSHIM_HTTP_TEST_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "test.h"

static inline int connect_to(uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Read until the peer closes or 10 s pass; the answer, NUL-terminated. */
static inline size_t read_all(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	time_t deadline = time(NULL) + 10;

	while (n + 1 < cap && time(NULL) < deadline) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 1000) <= 0)
			continue;
		ssize_t got = read(fd, buf + n, cap - 1 - n);
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	buf[n] = '\0';
	return n;
}

/* Send one request (Connection: close) and read the whole answer. */
static inline void exchange(uint16_t port, const char *request, char *answer, size_t cap)
{
	int fd = connect_to(port);

	answer[0] = '\0';
	if (!CHECK(fd >= 0))
		return;
	CHECK(write(fd, request, strlen(request)) == (ssize_t)strlen(request));
	read_all(fd, answer, cap);
	close(fd);
}

static inline int status_of(const char *answer)
{
	int status = 0;

	if (sscanf(answer, "HTTP/1.%*d %d", &status) != 1)
		return 0;
	return status;
}

static inline int has_header(const char *answer, const char *line)
{
	const char *end = strstr(answer, "\r\n\r\n");
	const char *p = strstr(answer, line);

	return p && end && p < end;
}

#endif

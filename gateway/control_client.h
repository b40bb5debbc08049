/*
 * control_client.h - the client side of the control socket (protocol in
 * control.h), for anshim-gw.  Blocking I/O with deadlines.  Single thread.
 */
#ifndef GW_CONTROL_CLIENT_H
#define GW_CONTROL_CLIENT_H

#include <stddef.h>

struct gw_client {
	int fd;
	char buf[8192];
	size_t len;
};

/* Connect to the daemon's control socket.  On failure err says what to do
 * (is the daemon running? permissions?). */
int gw_client_connect(struct gw_client *c, const char *path, char *err, size_t err_len);
void gw_client_close(struct gw_client *c);

/* Send one request line (a '\n' is added).  0 or -errno. */
int gw_client_send(struct gw_client *c, const char *line);

/* Read one reply line into out (NUL-terminated, without '\n'), waiting at
 * most timeout_ms (< 0: forever).  Returns the length, 0 at end of stream,
 * -ETIMEDOUT, -EMSGSIZE for a line longer than cap, or -errno. */
int gw_client_read_line(struct gw_client *c, char *out, size_t cap, int timeout_ms);

/* Send request and read one reply line (timeout 30 s). */
int gw_client_request(struct gw_client *c, const char *request, char *out, size_t cap);

#endif

/*
 * ctl.c - the supervisor's control socket, both ends.
 *
 * The protocol, its limits and its command words are in fragnet/ctl.h.
 * Server side: ctl_listen(), ctl_accept(), ctl_read_request() and
 * ctl_reply(), called from the supervisor's loop (supervisor.c), which
 * dispatches the command.  Client side: ctl_request(), called by cli.c.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fragnet/clock.h"
#include "fragnet/ctl.h"
#include "sup.h"

static int sun_fill(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return 0;
}

int ctl_sock_path(const char *run_dir, const char *name, char *buf, size_t len)
{
	struct sockaddr_un sun;
	int err = topo_path(buf, len, run_dir, name);

	return err < 0 ? err : sun_fill(&sun, buf);
}

/* A listening SOCK_SEQPACKET socket at path, mode 0600.  Used for the
 * supervisor's own socket (flags = SOCK_NONBLOCK: it sits in our epoll) and
 * for each stack's control socket (flags = 0: O_NONBLOCK is shared by every
 * copy of the fd, so the stack chooses for itself). */
int ctl_listen(const char *path, int flags)
{
	struct sockaddr_un sun;
	int fd, err;

	err = sun_fill(&sun, path);
	if (err < 0)
		return err;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | flags, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		goto err_close;
	/* The run dir is 0700 already; the mode is a second fence. */
	if (chmod(path, 0600) < 0)
		goto err_unlink;
	if (listen(fd, 16) < 0)
		goto err_unlink;
	return fd;

err_unlink:
	err = -errno;
	unlink(path);
	close(fd);
	return err;
err_close:
	err = -errno;
	close(fd);
	return err;
}

/* Accept one client; only root may talk to the supervisor.  Returns the
 * connection (non-blocking, close-on-exec) or a negative errno. */
int ctl_accept(int lfd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    len != sizeof(cred) || cred.uid != 0) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

static bool is_command_word(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '-'))
			return false;
	return n > 0;
}

/* A command word, then optionally one space and an argument: 1 to
 * FN_CTL_ARG_MAX - 1 bytes of [A-Za-z0-9_-], a pipeline's number or a
 * network's name (ctl.h REQUEST).  The command checks it further. */
static bool is_request(const char *s, size_t n)
{
	const char *sp = memchr(s, ' ', n);
	size_t w = sp ? (size_t)(sp - s) : n, d = n - w - (sp != NULL);

	if (!is_command_word(s, w))
		return false;
	if (!sp)
		return true;
	if (d < 1 || d >= FN_CTL_ARG_MAX)
		return false;
	for (size_t i = w + 1; i < n; i++)	/* not terminated yet */
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '-')
			return false;
	return true;
}

/* Read the one request message into cmd (NUL-terminated).  -EAGAIN: not
 * there yet; -EBADMSG: empty, too long or not a command word. */
int ctl_read_request(int fd, char *cmd, size_t len)
{
	ssize_t n = recv(fd, cmd, len - 1, MSG_TRUNC | MSG_DONTWAIT);

	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;
	/* MSG_TRUNC: n is the real length even when it did not fit. */
	if ((size_t)n >= len)
		return -EBADMSG;
	if (cmd[n - 1] == '\n')
		n--;
	if (!is_request(cmd, (size_t)n))
		return -EBADMSG;
	cmd[n] = '\0';
	return 0;
}

/* Send buf as messages of at most FN_CTL_MSG_MAX bytes. */
int ctl_reply(int fd, const char *buf, size_t len)
{
	struct timeval tv = {
		.tv_sec = FN_CTL_SEND_TIMEOUT_MS / 1000,
		.tv_usec = FN_CTL_SEND_TIMEOUT_MS % 1000 * 1000,
	};
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	while (len > 0) {
		size_t chunk = len < FN_CTL_MSG_MAX ? len : FN_CTL_MSG_MAX;
		ssize_t n = send(fd, buf, chunk, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One message msg with pass_fd by SCM_RIGHTS (ctl.h "capture", THE
 * METRICS CHANNEL), never waiting: a short message goes into the socket
 * buffer or fails (-EAGAIN when the peer's queue is full). */
int ctl_send_fd(int fd, const char *msg, int pass_fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)msg, strlen(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	memset(&u, 0, sizeof(u));
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
	return sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 ? -errno : 0;
}

/* ---- client ------------------------------------------------------------ */

static int ctl_connect(const char *run_dir)
{
	char path[PATH_MAX];
	struct sockaddr_un sun;
	int fd, err;

	err = ctl_sock_path(run_dir, FN_SUPERVISOR_SOCK, path, sizeof(path));
	if (err < 0 || (err = sun_fill(&sun, path)) < 0)
		return err;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Copy reply messages to out (a refusal to stderr) until the server
 * closes. */
static int ctl_drain(int fd, int timeout_ms, FILE *out)
{
	int64_t deadline = fn_clock_ms() + timeout_ms;
	bool first = true, refused = false;
	char *buf = malloc(FN_CTL_MSG_MAX + 1);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - fn_clock_ms();
		int r = left > 0 ? poll(&pfd, 1, (int)left) : 0;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(buf);
			return r == 0 ? -ETIMEDOUT : -errno;
		}
		ssize_t n = recv(fd, buf, FN_CTL_MSG_MAX, 0);
		if (n <= 0) {
			free(buf);
			return n == 0 ? (refused ? -EREMOTEIO : 0) : -errno;
		}
		if (first)
			refused = strncmp(buf, FN_CTL_ERR_PREFIX,
					  strlen(FN_CTL_ERR_PREFIX)) == 0;
		first = false;
		fwrite(buf, 1, (size_t)n, refused ? stderr : out);
	}
}

/*
 * Send cmd to the supervisor of run_dir and write its answer to out
 * (ctl_request: stdout).  Returns 0, -EREMOTEIO when the supervisor
 * refused, -ETIMEDOUT, or the errno of connect (-ENOENT, -ECONNREFUSED:
 * no supervisor).
 */
int ctl_request_to(const char *run_dir, const char *cmd, int timeout_ms,
		   FILE *out)
{
	int fd = ctl_connect(run_dir), err;

	if (fd < 0)
		return fd;
	if (send(fd, cmd, strlen(cmd), MSG_NOSIGNAL) < 0)
		err = -errno;
	else
		err = ctl_drain(fd, timeout_ms, out);
	fflush(out);
	close(fd);
	return err;
}

int ctl_request(const char *run_dir, const char *cmd, int timeout_ms)
{
	return ctl_request_to(run_dir, cmd, timeout_ms, stdout);
}

/* The one fd of an SCM_RIGHTS message, or -1; every other fd it carried
 * is closed (ctl.h "capture"). */
static int cmsg_one_fd(struct msghdr *mh)
{
	int fd = -1;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm;
	     cm = CMSG_NXTHDR(mh, cm)) {
		size_t n;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int x;

			memcpy(&x, CMSG_DATA(cm) + i * sizeof(int), sizeof(x));
			if (fd < 0)
				fd = x;
			else
				close(x);
		}
	}
	return fd;
}

/*
 * Wait up to timeout_ms for one reply message on s and take the one fd it
 * carries (ctl.h "capture", THE METRICS CHANNEL).  The fd, or -EREMOTEIO
 * (refused: the reason is on stderr), -EPROTO (no fd, or more than the
 * reply says), -ECONNRESET (EOF), -ETIMEDOUT, or recvmsg's errno.
 */
int ctl_recv_fd(int s, int timeout_ms)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	char text[256];
	struct iovec iov = { text, sizeof(text) - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct pollfd pfd = { .fd = s, .events = POLLIN };
	int fd;
	ssize_t n;

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return -ETIMEDOUT;
	n = recvmsg(s, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n <= 0)
		return n == 0 ? -ECONNRESET : -errno;
	text[n] = '\0';
	fd = cmsg_one_fd(&mh);
	if (strncmp(text, FN_CTL_ERR_PREFIX, strlen(FN_CTL_ERR_PREFIX)) == 0) {
		fprintf(stderr, "%s", text);
		if (fd >= 0)
			close(fd);
		return -EREMOTEIO;
	}
	if (fd < 0 || (mh.msg_flags & MSG_CTRUNC)) {
		if (fd >= 0)
			close(fd);
		return -EPROTO;
	}
	return fd;
}

/*
 * Send cmd and take the fd its one-message reply carries (ctl.h
 * "capture").  The fd, or an error of ctl_recv_fd(), or connect's errno.
 */
int ctl_request_fd(const char *run_dir, const char *cmd, int timeout_ms)
{
	int s = ctl_connect(run_dir), fd;

	if (s < 0)
		return s;
	if (send(s, cmd, strlen(cmd), MSG_NOSIGNAL) < 0)
		fd = -errno;
	else
		fd = ctl_recv_fd(s, timeout_ms);
	close(s);
	return fd;
}

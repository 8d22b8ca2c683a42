/*
 * sc_io.c - data paths and fds: large iovecs in sendmsg and recvmsg,
 * readv/writev, sendfile and splice from a file to a socket, dup2 over
 * a socket, fork and exec with sockets.
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fidelity.h"

/* 1024 iovecs of 100 bytes each, the pattern across them. */
static void sendmsg_iov(void)
{
	static unsigned char b[102400];
	static struct iovec iov[IOV_MAX + 1];
	struct msghdr m = { .msg_iov = iov };

	peer_start("listen ready accept drain");
	int s = tcp_to_peer();
	pattern(b, sizeof b, 0);
	for (int i = 0; i <= IOV_MAX; i++)
		iov[i] = (struct iovec){ b + (i % 1024) * 100, 100 };
	m.msg_iovlen = IOV_MAX + 1;
	R(sendmsg(s, &m, 0));
	m.msg_iovlen = IOV_MAX;
	R(sendmsg(s, &m, 0));
	R(close(s));
}

/* recvmsg into 512 iovecs of 100 bytes, MSG_WAITALL. */
static void recvmsg_iov(void)
{
	static unsigned char b[51200];
	static struct iovec iov[512];
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 512 };

	peer_start("listen ready accept send:51200 drain");
	int s = tcp_to_peer();
	for (int i = 0; i < 512; i++)
		iov[i] = (struct iovec){ b + i * 100, 100 };
	long n = recvmsg(s, &m, MSG_WAITALL);
	out("recvmsg = %ld %s hash %08x flags %d", n, n < 0 ? ename(errno) : "",
	    fnv(b, sizeof b), m.msg_flags);
	R(close(s));
}

static void rw_vectors(void)
{
	unsigned char a[300], b[700], c[100], d[900];

	peer_start("listen ready accept send:1000 recv:1000 drain");
	int s = tcp_to_peer();
	readable(s);
	msleep(200);
	struct iovec in[] = { { c, 100 }, { d, 900 } };
	long n = readv(s, in, 2);
	if (n < 1000)
		n += recv(s, d + (n - 100), (size_t)(1000 - n), MSG_WAITALL);
	out("readv = %ld hash %08x %08x", n, fnv(c, 100), fnv(d, 900));
	pattern(a, 300, 0);
	pattern(b, 700, 300);
	struct iovec o[] = { { a, 300 }, { NULL, 0 }, { b, 700 } };
	R(writev(s, o, 3));
	R(close(s));
}

/* A file of n pattern bytes, open for reading. */
static int pattern_file(size_t n)
{
	char path[] = "/tmp/fn-fidelity-XXXXXX";
	unsigned char *b = malloc(n);
	int fd = mkstemp(path);

	pattern(b, n, 0);
	if (fd < 0 || write(fd, b, n) != (long)n)
		out("pattern file: %s", ename(errno));
	unlink(path);
	lseek(fd, 0, SEEK_SET);
	free(b);
	return fd;
}

static void sendfile_offset(void)
{
	off_t off = 1000;

	peer_start("listen ready accept drain");
	int s = tcp_to_peer(), f = pattern_file(300000);
	long n = sendfile(s, f, &off, 200000);
	out("sendfile = %ld %s, offset %ld, file position %ld", n,
	    n < 0 ? ename(errno) : "", (long)off, (long)lseek(f, 0, SEEK_CUR));
	R(close(s));
}

static void sendfile_position(void)
{
	long total = 0, n;

	peer_start("listen ready accept drain");
	int s = tcp_to_peer(), f = pattern_file(100000);
	while ((n = sendfile(s, f, NULL, 65536)) > 0)
		total += n;
	out("sendfile total %ld, last %ld %s, file position %ld", total, n,
	    n < 0 ? ename(errno) : "", (long)lseek(f, 0, SEEK_CUR));
	R(close(s));
}

/* sendfile on a non-blocking socket: partial, EAGAIN, the file position
 * where the socket stopped taking; then all of it arrives, once. */
static void sendfile_nonblock(void)
{
	const long size = 8 << 20;
	long total = 0, n;
	int eagain = 0, pos_ok = 1;

	peer_start("listen ready accept wait drain");
	int s = tcp_to_peer(), f = pattern_file((size_t)size);
	set_nonblock(s);
	while (total < size) {
		n = sendfile(s, f, NULL, (size_t)(size - total));
		if (n < 0 && errno == EAGAIN) {
			pos_ok &= lseek(f, 0, SEEK_CUR) == total;
			if (!eagain++)
				peer_go();
			struct pollfd p = { s, POLLOUT, 0 };
			if (poll(&p, 1, 3000) != 1)
				break;
			continue;
		}
		if (n <= 0)
			break;
		total += n;
	}
	out("sendfile: %ld of %ld, EAGAIN seen %d, position right %d",
	    total, size, eagain > 0, pos_ok);
	if (!eagain)
		peer_go();
	R(close(s));
}

/* file -> pipe -> socket, with splice. */
static void splice_to_sock(void)
{
	int p[2];
	long total = 0, n;

	peer_start("listen ready accept drain");
	int s = tcp_to_peer(), f = pattern_file(50000);
	R(pipe(p));
	while ((n = splice(f, NULL, p[1], NULL, 16384, 0)) > 0) {
		long m = splice(p[0], NULL, s, NULL, (size_t)n, 0);
		if (m != n) {
			out("splice to socket = %ld %s", m, ename(errno));
			break;
		}
		total += m;
	}
	out("spliced %ld", total);
	R(close(s));
}

/* socket -> pipe, with splice. */
static void splice_from_sock(void)
{
	int p[2];
	unsigned char b[5000];

	peer_start("listen ready accept send:5000 drain");
	int s = tcp_to_peer();
	R(pipe(p));
	queued(s, 5000);
	long n = splice(s, NULL, p[1], NULL, 5000, 0);
	out("splice from socket = %ld %s", n, n < 0 ? ename(errno) : "");
	if (n > 0) {
		long m = read(p[0], b, (size_t)n);
		out("pipe: %ld hash %08x", m, fnv(b, m > 0 ? (size_t)m : 0));
	}
	R(close(s));
}

/* sendfile from what the kernel refuses as its in_fd: a pipe (EINVAL,
 * ESPIPE with an offset, even for 0 bytes), a file not open for reading
 * or no fd (EBADF), a socket (EINVAL, ESPIPE), a negative offset; the
 * pipe's bytes stay there.  (Character devices: Linux 6.1 refuses them
 * all, later kernels those without splice_read; not asked here.) */
static void sendfile_bad_in(void)
{
	int p[2], q = -1;
	off_t off = 0;

	peer_start("listen ready accept drain");
	int s = tcp_to_peer(), f = pattern_file(1000), s2 = tcp();
	int wr = open("/dev/null", O_WRONLY);
	R(pipe(p));
	R(write(p[1], "0123456789", 10));
	R(sendfile(s, p[0], NULL, 10));
	R(sendfile(s, p[0], &off, 10));
	R(sendfile(s, p[0], NULL, 0));
	R(sendfile(s, wr, NULL, 10));
	R(sendfile(s, -1, NULL, 10));
	R(sendfile(s, s2, &off, 10));
	R(sendfile(s, s2, NULL, 10));
	off = -1;
	R(sendfile(s, f, &off, 10));
	R(sendfile(s, f, NULL, 0));
	R(ioctl(p[0], FIONREAD, &q));
	out("pipe holds %d", q);
	R(close(s2));
	R(close(s));
}

/* splice's checks on a socket and a pipe: offsets (ESPIPE for the pipe,
 * EINVAL for the socket), a pipe end of the wrong direction (EBADF), no
 * pipe (EINVAL), 0 bytes, unknown flags. */
static void splice_bad(void)
{
	int p[2], f = pattern_file(100);
	loff_t off = 0;

	peer_start("listen ready accept drain");
	int s = tcp_to_peer();
	R(pipe(p));
	R(write(p[1], "0123456789", 10));
	R(splice(p[0], &off, s, NULL, 10, 0));
	R(splice(p[0], NULL, s, &off, 10, 0));
	R(splice(p[1], NULL, s, NULL, 10, 0));
	R(splice(p[1], &off, s, NULL, 10, 0));
	R(splice(f, NULL, s, NULL, 10, 0));
	R(splice(s, NULL, s, NULL, 10, 0));
	R(splice(p[0], NULL, s, NULL, 0, 0));
	R(splice(p[0], NULL, s, NULL, 10, 0x100));
	R(splice(s, NULL, p[1], &off, 10, 0));
	R(splice(s, &off, p[1], NULL, 10, 0));
	R(splice(s, NULL, p[0], NULL, 10, 0));
	R(splice(s, NULL, f, NULL, 10, 0));
	R(splice(p[0], NULL, s, NULL, 10, 0));
	R(close(s));
}

/* splice from an empty pipe: SPLICE_F_NONBLOCK or the pipe's O_NONBLOCK
 * say EAGAIN; without writers, 0. */
static void splice_empty_pipe(void)
{
	int p[2];

	peer_start("listen ready accept drain");
	int s = tcp_to_peer();
	R(pipe(p));
	R(splice(p[0], NULL, s, NULL, 100, SPLICE_F_NONBLOCK));
	set_nonblock(p[0]);
	R(splice(p[0], NULL, s, NULL, 100, 0));
	R(close(p[1]));
	R(splice(p[0], NULL, s, NULL, 100, 0));
	R(close(s));
}

/* pipe -> a non-blocking socket whose peer does not read yet: EAGAIN,
 * and what the socket did not take stays in the pipe; then all of it
 * arrives, once, in order. */
static void splice_to_sock_nb(void)
{
	static unsigned char b[16384];
	const long size = 8 << 20;
	long put = 0, moved = 0, n;
	int p[2], eagain = 0, q = 0, kept = 1;

	peer_start("listen ready accept wait drain");
	int s = tcp_to_peer();
	R(pipe(p));
	set_nonblock(s);
	while (moved < size) {
		if (put < size && put - moved <= 32768) {
			size_t k = size - put < 16384 ? (size_t)(size - put) :
				   16384;

			pattern(b, k, (size_t)put);
			if (write(p[1], b, k) != (long)k)
				break;
			put += (long)k;
		}
		n = splice(p[0], NULL, s, NULL, 65536, 0);
		if (n < 0 && errno == EAGAIN) {
			ioctl(p[0], FIONREAD, &q);
			kept &= moved + q == put;
			if (!eagain++)
				peer_go();
			struct pollfd pf = { s, POLLOUT, 0 };
			if (poll(&pf, 1, 3000) != 1)
				break;
			continue;
		}
		if (n <= 0)
			break;
		moved += n;
	}
	out("spliced %ld of %ld, EAGAIN seen %d, the pipe kept the rest %d",
	    moved, size, eagain > 0, kept);
	if (!eagain)
		peer_go();
	R(close(s));
}

/* socket -> a full pipe (one slot, taken by a vmsplice'd byte): EAGAIN
 * with SPLICE_F_NONBLOCK, and the socket's data stays there. */
static void splice_full_pipe(void)
{
	struct iovec v = { "x", 1 };
	int p[2];

	peer_start("listen ready accept send:3000 drain");
	int s = tcp_to_peer();
	R(pipe(p));
	R(fcntl(p[1], F_SETPIPE_SZ, 4096));
	R(vmsplice(p[1], &v, 1, 0));
	queued(s, 3000);
	R(splice(s, NULL, p[1], NULL, 3000, SPLICE_F_NONBLOCK));
	set_nonblock(p[1]);
	R(splice(s, NULL, p[1], NULL, 3000, 0));
	rcv(s, 5000, 0);
	R(close(s));
}

/* dup2 of a file over the socket's fd closes the socket. */
static void dup2_over(void)
{
	peer_start("listen ready accept drain");
	int s = tcp_to_peer(), f = open("/dev/null", O_RDONLY);
	R(dup2(f, s) == s);
	rcv(s, 10, MSG_DONTWAIT);
	R(close(f));
}

/* dup2 of the socket to another fd: it lives on after closing the
 * first. */
static void dup2_socket(void)
{
	peer_start("listen ready accept send:5 drain");
	int s = tcp_to_peer();
	int d = dup2(s, s + 20);
	out("dup2 = %s", d == s + 20 ? "ok" : ename(errno));
	R(close(s));
	snd(d, 7, 0);
	readable(d);
	rcv(d, 10, 0);
	out("FD_CLOEXEC %d", fcntl(d, F_GETFD));
	int e = dup3(d, s, O_CLOEXEC);
	out("dup3 = %s, FD_CLOEXEC %d", e == s ? "ok" : ename(errno),
	    fcntl(s, F_GETFD));
	R(close(d));
	snd(s, 3, 0);
	R(close(s));
}

/* A forked child closes its copy: the parent's connection goes on. */
static void fork_close(void)
{
	int st;

	peer_start("listen ready accept drain");
	int s = tcp_to_peer();
	pid_t p = fork();
	if (p == 0) {
		close(s);
		_exit(0);
	}
	waitpid(p, &st, 0);
	out("child exit %d", WEXITSTATUS(st));
	snd(s, 100, 0);
	R(close(s));
}

/* A forked child writes on the inherited socket. */
static void fork_child_send(void)
{
	int st;

	peer_start("listen ready accept drain");
	int s = tcp_to_peer();
	pid_t p = fork();
	if (p == 0)
		_exit(send(s, "child", 5, MSG_NOSIGNAL) == 5 ? 0 : errno);
	waitpid(p, &st, 0);
	out("child exit %s", WEXITSTATUS(st) ? ename(WEXITSTATUS(st)) : "0");
	snd(s, 10, 0);
	R(close(s));
}

static int run_child(int fd)
{
	char arg[16];
	int st;

	snprintf(arg, sizeof arg, "%d", fd);
	pid_t p = fork();
	if (p == 0) {
		execl("/proc/self/exe", fx.self, "--write-fd", arg,
		      (char *)NULL);
		_exit(127);
	}
	waitpid(p, &st, 0);
	return WEXITSTATUS(st);
}

/* fork and exec: the new program writes on the inherited socket. */
static void exec_inherit(void)
{
	peer_start("listen ready accept drain");
	int s = tcp_to_peer();
	int st = run_child(s);
	out("child exit %s", st ? ename(st) : "0");
	snd(s, 10, 0);
	R(close(s));
}

/* A close-on-exec socket is gone in the new program. */
static void exec_cloexec(void)
{
	peer_start("listen ready accept drain");
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = sa_peer(fx.pport);
	R(connect(s, SA(a), sizeof a));
	int st = run_child(s);
	out("child exit %s", st ? ename(st) : "0");
	R(close(s));
}

/* FIONREAD and SIOCOUTQ-less checks: queued bytes. */
static void fionread(void)
{
	int q = -1;

	peer_start("listen ready accept send:1234 drain");
	int s = tcp_to_peer();
	queued(s, 1234);
	R(ioctl(s, FIONREAD, &q));
	out("FIONREAD %d", q);
	rcv(s, 1000, 0);
	R(ioctl(s, FIONREAD, &q));
	out("FIONREAD %d", q);
	R(close(s));
}

const struct fid_scenario fid_io[] = {
	{ "sendmsg-iov", sendmsg_iov, "sendmsg: IOV_MAX+1, then 1024 iovecs" },
	{ "recvmsg-iov", recvmsg_iov, "recvmsg: 512 iovecs, MSG_WAITALL" },
	{ "readv-writev", rw_vectors, "readv and writev, an empty iovec" },
	{ "sendfile-offset", sendfile_offset, "sendfile with an offset" },
	{ "sendfile-position", sendfile_position, "sendfile from the file position" },
	{ "sendfile-nonblock", sendfile_nonblock,
	  "sendfile on a non-blocking socket until all is sent" },
	{ "splice-to-sock", splice_to_sock, "file -> pipe -> socket" },
	{ "splice-from-sock", splice_from_sock, "socket -> pipe" },
	{ "sendfile-bad-in", sendfile_bad_in,
	  "sendfile from a pipe, a socket, a device, no fd" },
	{ "splice-bad", splice_bad, "splice: offsets, directions, no pipe" },
	{ "splice-empty-pipe", splice_empty_pipe,
	  "splice from an empty pipe: EAGAIN, then EOF" },
	{ "splice-to-sock-nb", splice_to_sock_nb,
	  "pipe -> non-blocking socket: the rest stays in the pipe" },
	{ "splice-full-pipe", splice_full_pipe,
	  "socket -> full pipe: EAGAIN, the data stays" },
	{ "dup2-over", dup2_over, "dup2 of a file over a socket" },
	{ "dup2-socket", dup2_socket, "dup2/dup3 of a socket, FD_CLOEXEC" },
	{ "fork-close", fork_close, "a child closes its copy" },
	{ "fork-child-send", fork_child_send, "a child sends on the socket" },
	{ "exec-inherit", exec_inherit, "an exec'd program writes on it" },
	{ "exec-cloexec", exec_cloexec, "SOCK_CLOEXEC: gone after exec" },
	{ "fionread", fionread, "FIONREAD before and after a read" },
	{ NULL, NULL, NULL },
};

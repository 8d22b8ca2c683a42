/*
 * test_tcp_pcb_hash.c - lwIP's hashed TCP demultiplexing
 * (subprojects/packagefiles/lwip-tcp-pcb-hash.patch, TCP_PCB_HASH_SIZE in
 * src/stack/lwip/full/lwipopts.h), driven through lwIP itself: thousands
 * of connections over a loopback netif (lwip_wire.h), both ends lwIP's.
 *
 *     client pcbs (tcp_connect)  ---  lo netif 10.0.0.1  ---  listeners
 *                                  output -> queue -> ip_input   7000, 7001
 *
 * Each client sends its index and 4-tuple; the server end checks that the
 * segment reached the pcb of that very 4-tuple and answers the same way,
 * and the client checks the answer: a segment demultiplexed to the wrong
 * pcb fails the test.  After every phase the hash is checked against the
 * lists it mirrors (a differential test against lwIP's own walks): every
 * active and TIME-WAIT pcb is found under its own 4-tuple and state, and
 * the hash holds exactly those pcbs.
 *
 * Phases: connect in batches; data both ways; half the connections closed
 * by the client (which goes to TIME-WAIT; the server end is freed); a
 * port in TIME-WAIT reused with SO_REUSEADDR (refused towards the same
 * server, accepted towards the other, data checked); TIME-WAIT expiry by
 * tcp_slowtmr(); every remaining connection aborted (RST): the hash ends
 * empty.  lwIP's timers run only when this test calls them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lwip/init.h"
#include "lwip/ip.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/priv/tcp_priv.h"

#include "lwip_wire.h"

void stk_port_init(void);

#if !TCP_PCB_HASH_SIZE
#error "lwIP's full profile is built without TCP_PCB_HASH_SIZE"
#endif

#define NCONN		3000	/* > 4 per 16 chains: chains share heads */
#define BATCH		200	/* below the listen backlog: no SYN dropped */
#define PORT_A		7000
#define PORT_B		7001
#define QLEN		16384
#define MSG_LEN		12

struct conn {
	struct tcp_pcb *cli, *srv;
	u16_t cli_port, srv_port;
	int srv_got, cli_got, srv_fin, srv_err, cli_err;
};

static struct {
	struct lo_wire wire;
	struct pbuf *q[QLEN];
	struct tcp_pcb *lis[2];
	struct conn c[NCONN + 1];	/* the last one: the reused port */
	int by_port[65536];		/* client port -> index + 1 */
	int accepted, bad;
} T;

/* ---- the pattern: 'C' or 'S', index, client port, server port ---------- */

static void msg_make(u8_t *m, char who, int idx, u16_t cport, u16_t sport)
{
	memset(m, 0, MSG_LEN);
	m[0] = (u8_t)who;
	memcpy(m + 1, &idx, sizeof(idx));
	memcpy(m + 5, &cport, sizeof(cport));
	memcpy(m + 7, &sport, sizeof(sport));
}

/* Is p exactly the message from `who` for connection idx? */
static int msg_check(struct pbuf *p, char who, int idx)
{
	u8_t got[MSG_LEN], want[MSG_LEN];

	if (p->tot_len != MSG_LEN ||
	    pbuf_copy_partial(p, got, MSG_LEN, 0) != MSG_LEN)
		return 0;
	msg_make(want, who, idx, T.c[idx].cli_port, T.c[idx].srv_port);
	return memcmp(got, want, MSG_LEN) == 0;
}

static void send_msg(struct tcp_pcb *pcb, char who, int idx)
{
	u8_t m[MSG_LEN];

	msg_make(m, who, idx, T.c[idx].cli_port, T.c[idx].srv_port);
	assert_int_equal(tcp_write(pcb, m, MSG_LEN, TCP_WRITE_FLAG_COPY), ERR_OK);
	assert_int_equal(tcp_output(pcb), ERR_OK);
}

/* ---- the server end ------------------------------------------------------ */

static err_t srv_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct conn *c = arg;
	int idx = (int)(c - T.c);

	(void)err;
	if (p == NULL) {	/* FIN: close our end too */
		c->srv_fin = 1;
		tcp_arg(pcb, NULL);
		tcp_recv(pcb, NULL);
		tcp_err(pcb, NULL);
		c->srv = NULL;
		if (tcp_close(pcb) != ERR_OK)
			T.bad++;
		return ERR_OK;
	}
	/* the pcb lwIP chose must be this connection's server end */
	if (pcb != c->srv || pcb->remote_port != c->cli_port ||
	    pcb->local_port != c->srv_port || !msg_check(p, 'C', idx))
		T.bad++;
	else
		c->srv_got++;
	tcp_recved(pcb, p->tot_len);
	pbuf_free(p);
	send_msg(pcb, 'S', idx);
	return ERR_OK;
}

static void srv_err(void *arg, err_t err)
{
	struct conn *c = arg;

	(void)err;
	if (c) {
		c->srv_err++;
		c->srv = NULL;
	}
}

static err_t srv_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	int idx;

	(void)arg;
	if (err != ERR_OK || pcb == NULL)
		return ERR_VAL;
	idx = T.by_port[pcb->remote_port] - 1;
	if (idx < 0 || T.c[idx].srv != NULL ||
	    T.c[idx].srv_port != pcb->local_port) {
		T.bad++;
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	T.c[idx].srv = pcb;
	T.accepted++;
	tcp_arg(pcb, &T.c[idx]);
	tcp_recv(pcb, srv_recv);
	tcp_err(pcb, srv_err);
	return ERR_OK;
}

/* ---- the client end ------------------------------------------------------ */

static err_t cli_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct conn *c = arg;

	(void)err;
	if (p == NULL)
		return ERR_OK;	/* the server's FIN after ours */
	if (pcb != c->cli || !msg_check(p, 'S', (int)(c - T.c)))
		T.bad++;
	else
		c->cli_got++;
	tcp_recved(pcb, p->tot_len);
	pbuf_free(p);
	return ERR_OK;
}

static void cli_err(void *arg, err_t err)
{
	struct conn *c = arg;

	(void)err;
	c->cli_err++;
	c->cli = NULL;
}

static err_t cli_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct conn *c = arg;

	if (err != ERR_OK || pcb != c->cli)
		T.bad++;
	else
		send_msg(pcb, 'C', (int)(c - T.c));
	return ERR_OK;
}

/* Open connection idx to port, from local port lport (0: ephemeral). */
static err_t cli_open(int idx, u16_t port, u16_t lport)
{
	struct conn *c = &T.c[idx];
	ip_addr_t dst;
	err_t e;

	c->cli = tcp_new();
	assert_non_null(c->cli);
	tcp_arg(c->cli, c);
	tcp_recv(c->cli, cli_recv);
	tcp_err(c->cli, cli_err);
	if (lport) {
		ip_set_option(c->cli, SOF_REUSEADDR);
		assert_int_equal(tcp_bind(c->cli, IP4_ADDR_ANY, lport), ERR_OK);
	}
	ip_addr_set_ip4_u32(&dst, LO_WIRE_IP);
	c->srv_port = port;
	e = tcp_connect(c->cli, &dst, port, cli_connected);
	if (e != ERR_OK) {
		tcp_err(c->cli, NULL);
		tcp_abort(c->cli);	/* still CLOSED: nothing is sent */
		c->cli = NULL;
		return e;
	}
	c->cli_port = c->cli->local_port;
	T.by_port[c->cli_port] = idx + 1;
	return ERR_OK;
}

/* ---- the wire and the checks ------------------------------------------- */

/* Deliver until nothing moves; the fast timer sends the delayed ACKs. */
static void pump(void)
{
	int rounds;

	for (rounds = 0; rounds < 10000; rounds++) {
		if (lo_wire_drain(&T.wire, 4096, NULL) > 0)
			continue;
		tcp_fasttmr();
		if (T.wire.head == T.wire.tail)
			return;
	}
	fail_msg("the wire never went quiet");
}

static int list_len(struct tcp_pcb *l)
{
	int n = 0;

	for (; l != NULL; l = l->next)
		n++;
	return n;
}

/* The hash mirrors the lists: each listed pcb is found under its own
 * 4-tuple and state, and nothing else is hashed. */
static void check_hash(void)
{
	struct tcp_pcb *p;
	u32_t n = 0;

	for (p = tcp_active_pcbs; p != NULL; p = p->next, n++) {
		assert_ptr_equal(tcp_pcb_hash_find(&p->local_ip, p->local_port,
			&p->remote_ip, p->remote_port, 1, 0), p);
		assert_null(tcp_pcb_hash_find(&p->local_ip, p->local_port,
			&p->remote_ip, p->remote_port, 1, 1));
	}
	for (p = tcp_tw_pcbs; p != NULL; p = p->next, n++) {
		assert_int_equal(p->state, TIME_WAIT);
		assert_ptr_equal(tcp_pcb_hash_find(&p->local_ip, p->local_port,
			&p->remote_ip, p->remote_port, 1, 1), p);
		assert_null(tcp_pcb_hash_find(&p->local_ip, p->local_port,
			&p->remote_ip, p->remote_port, 1, 0));
	}
	assert_int_equal(tcp_pcb_hash_count(), n);
}

/* 4-tuples nobody holds are found nowhere (the local port is no
 * listener's, so none can be live). */
static void check_misses(void)
{
	ip_addr_t a;
	int i;

	ip_addr_set_ip4_u32(&a, LO_WIRE_IP);
	for (i = 0; i < 20000; i++) {
		u16_t rport = (u16_t)random();

		assert_null(tcp_pcb_hash_find(&a, 9, &a, rport, 1, 0));
		assert_null(tcp_pcb_hash_find(&a, 9, &a, rport, 1, 1));
	}
}

/* ---- the phases -------------------------------------------------------- */

static void phase_connect(void)
{
	int i, j;

	for (i = 0; i < NCONN; i += BATCH) {
		for (j = i; j < i + BATCH && j < NCONN; j++)
			assert_int_equal(cli_open(j, j % 2 ? PORT_B : PORT_A, 0), ERR_OK);
		pump();
		check_hash();
	}
	assert_int_equal(T.bad, 0);
	assert_int_equal(T.accepted, NCONN);
	for (i = 0; i < NCONN; i++) {
		assert_int_equal(T.c[i].srv_got, 1);
		assert_int_equal(T.c[i].cli_got, 1);
	}
	/* server end + client end per connection, all active */
	assert_int_equal(list_len(tcp_active_pcbs), 2 * NCONN);
}

/* The even connections: the client closes first and ends in TIME-WAIT. */
static void phase_close_half(void)
{
	int i;

	for (i = 0; i < NCONN; i += 2) {
		assert_int_equal(tcp_close(T.c[i].cli), ERR_OK);
		T.c[i].cli = NULL;
	}
	pump();
	check_hash();
	for (i = 0; i < NCONN; i += 2)
		assert_int_equal(T.c[i].srv_fin, 1);
	assert_int_equal(list_len(tcp_tw_pcbs), NCONN / 2);
	assert_int_equal(list_len(tcp_active_pcbs), NCONN);
	assert_int_equal(T.bad, 0);
}

/* Connection 0's port is in TIME-WAIT towards PORT_A: the same 4-tuple is
 * refused, the port towards PORT_B works, and its data goes where it must
 * while the TIME-WAIT pcb of the same local port is still hashed. */
static void phase_reuse(void)
{
	int k = NCONN;
	u16_t lport = T.c[0].cli_port;

	assert_int_equal(cli_open(k, PORT_A, lport), ERR_USE);
	assert_int_equal(cli_open(k, PORT_B, lport), ERR_OK);
	assert_int_equal(T.c[k].cli_port, lport);
	pump();
	check_hash();
	assert_int_equal(T.bad, 0);
	assert_int_equal(T.c[k].srv_got, 1);
	assert_int_equal(T.c[k].cli_got, 1);
	/* more data on the others, after the churn */
	for (k = 1; k < NCONN; k += 2)
		send_msg(T.c[k].cli, 'C', k);
	pump();
	for (k = 1; k < NCONN; k += 2) {
		assert_int_equal(T.c[k].srv_got, 2);
		assert_int_equal(T.c[k].cli_got, 2);
	}
	assert_int_equal(T.bad, 0);
}

/* tcp_slowtmr() frees the TIME-WAIT pcbs after 2 MSL, unlinking them
 * itself (not through TCP_RMV). */
static void phase_expire(void)
{
	int i;

	for (i = 0; i <= (int)(2 * TCP_MSL / TCP_SLOW_INTERVAL) + 1; i++)
		tcp_slowtmr();
	pump();
	assert_null(tcp_tw_pcbs);
	check_hash();
	assert_int_equal(list_len(tcp_active_pcbs), NCONN + 2);
}

/* Every remaining client aborts: RST, and the server ends go too. */
static void phase_abort(void)
{
	int i;

	for (i = 0; i <= NCONN; i++) {
		if (T.c[i].cli == NULL)
			continue;
		tcp_abort(T.c[i].cli);
		assert_int_equal(T.c[i].cli_err, 1);
	}
	pump();
	check_hash();
	for (i = 1; i < NCONN; i += 2)
		assert_int_equal(T.c[i].srv_err, 1);
	assert_int_equal(T.c[NCONN].srv_err, 1);
	assert_null(tcp_active_pcbs);
	assert_null(tcp_tw_pcbs);
	assert_int_equal(tcp_pcb_hash_count(), 0);
}

static void test_pcb_hash(void **state)
{
	(void)state;
	phase_connect();
	check_misses();
	phase_close_half();
	check_misses();
	phase_reuse();
	phase_expire();
	phase_abort();
	assert_int_equal(T.bad, 0);
}

static int group_setup(void **state)
{
	int i;

	(void)state;
	stk_port_init();
	lwip_init();
	lo_wire_up(&T.wire, T.q, QLEN);
	for (i = 0; i < 2; i++) {
		struct tcp_pcb *l = tcp_new();

		if (l == NULL || tcp_bind(l, IP4_ADDR_ANY, i ? PORT_B : PORT_A))
			return -1;
		T.lis[i] = tcp_listen_with_backlog(l, 255);
		if (T.lis[i] == NULL)
			return -1;
		tcp_accept(T.lis[i], srv_accept);
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	tcp_close(T.lis[0]);
	tcp_close(T.lis[1]);
	lo_wire_purge(&T.wire);
	netif_remove(&T.wire.nif);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pcb_hash),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

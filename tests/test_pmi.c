// SPDX-License-Identifier: GPL-2.0-or-later
/* The PMI-1 codec and one rank's service (launcher/pmi/). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/pmi/pmi_server.h"
#include "launcher/pmi/pmi_wire.h"
#include "tap.h"

static char got[1 << 17];
static char err[256];

/* Feeds TEXT whole; returns what the server answered (NUL-terminated). */
static const char *talk(struct pmi_server *s, const char *text)
{
	size_t n;
	const char *o;
	ssize_t r = pmi_server_feed(s, text, strlen(text), err, sizeof(err));

	got[0] = 0;
	if (r < 0)
		return NULL;
	o = pmi_server_out(s, &n);
	if (n >= sizeof(got))
		n = sizeof(got) - 1;
	memcpy(got, o, n);
	got[n] = 0;
	pmi_server_out_done(s, n);
	return got;
}

static struct pmi_server *server(unsigned rank, unsigned size, size_t max)
{
	struct pmi_server_config c = {.rank = rank,
				      .size = size,
				      .kvsname = "kvs_7_0",
				      .kvs_bytes_max = max};

	return pmi_server_create(&c);
}

static void test_conversation(void)
{
	struct pmi_server *s = server(1, 4, 0);
	const char *blob;
	size_t n;
	ssize_t r;
	/* Two ranks' puts, as the exchange brings them, rank order. */
	static const char all[] = "bc-0=tcp:10.0.0.1:4000\n"
				  "bc-1=tcp:10.0.0.2:4000\n"
				  "PMI_process_mapping=(vector,(0,1,4))\n";

	ok(s != NULL, "a server for rank 1 of 4");
	is_str(talk(s, "cmd=init pmi_version=1 pmi_subversion=1\n"),
	       "cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=0\n",
	       "init version 1 is accepted");
	is_str(talk(s, "cmd=init pmi_version=2 pmi_subversion=0\n"),
	       "cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=-1\n",
	       "init version 2 is refused, naming version 1");
	is_str(talk(s, "cmd=get_maxes\n"),
	       "cmd=maxes kvsname_max=256 keylen_max=64 vallen_max=1024 "
	       "rc=0\n",
	       "get_maxes gives the wire's bounds");
	is_str(talk(s, "cmd=get_appnum\n"), "cmd=appnum appnum=0 rc=0\n",
	       "get_appnum");
	is_str(talk(s, "cmd=get_my_kvsname\n"),
	       "cmd=my_kvsname kvsname=kvs_7_0 rc=0\n", "get_my_kvsname");
	is_str(talk(s, "cmd=get_universe_size\n"),
	       "cmd=universe_size size=4 rc=0\n", "get_universe_size");
	is_str(talk(s, "cmd=initack pmiid=1\n"),
	       "cmd=initack rc=0\ncmd=set size=4\ncmd=set rank=1\n"
	       "cmd=set debug=0\n",
	       "initack gives size and rank");
	is_str(talk(s, "cmd=get kvsname=kvs_7_0 key=PMI_process_mapping\n"),
	       "cmd=get_result rc=0 msg=success value=(vector,(0,4,1))\n",
	       "the process mapping puts each rank on a node of its own");
	is_str(talk(s, "cmd=put kvsname=kvs_7_0 key=bc-1 "
		       "value=tcp:10.0.0.2:4000\n"),
	       "cmd=put_result rc=0 msg=success\n", "put");
	is_str(talk(s, "cmd=get kvsname=kvs_7_0 key=bc-1\n"),
	       "cmd=get_result rc=0 msg=success value=tcp:10.0.0.2:4000\n",
	       "a rank gets its own put before the barrier");
	is_str(talk(s, "cmd=get kvsname=kvs_7_0 key=bc-0\n"),
	       "cmd=get_result rc=-1 msg=key_not_found\n",
	       "another rank's key is not there before the barrier");
	is_str(talk(s, "cmd=put kvsname=other key=a value=b\n"),
	       "cmd=put_result rc=-1 msg=unknown_kvsname\n",
	       "a put into another kvs is refused");
	is_str(talk(s, "cmd=put kvsname=kvs_7_0 key=PMI_process_mapping "
		       "value=x\n"),
	       "cmd=put_result rc=-1 msg=reserved_key\n",
	       "a put of a PMI_ key is refused");
	blob = pmi_server_puts(s, &n);
	ok(n == strlen("bc-1=tcp:10.0.0.2:4000\n") &&
	       !memcmp(blob, "bc-1=tcp:10.0.0.2:4000\n", n),
	   "the puts blob holds this rank's put only");

	is_str(talk(s, "cmd=barrier_in\ncmd=get_appnum\n"), "",
	       "barrier_in: no answer until the exchange is done");
	ok(pmi_server_state(s) == PMI_IN_BARRIER, "the server waits in it");
	r = pmi_server_feed(s, "cmd=get_appnum\n", 15, err, sizeof(err));
	ok(r == 0, "nothing more is taken while it waits (%zd)", r);
	ok(pmi_server_barrier_done(s, "bad", 3, err, sizeof(err)) == -EPROTO,
	   "a malformed exchange is refused (%s)", err);
	ok(pmi_server_state(s) == PMI_IN_BARRIER,
	   "and the barrier still waits");
	ok(pmi_server_barrier_done(s, all, strlen(all), err, sizeof(err)) == 0,
	   "the exchange of every rank's puts ends the barrier");
	is_str(talk(s, ""), "cmd=barrier_out rc=0\ncmd=appnum appnum=0 rc=0\n",
	       "barrier_out, then the line held during the barrier");
	is_str(talk(s, "cmd=get kvsname=kvs_7_0 key=bc-0\n"),
	       "cmd=get_result rc=0 msg=success value=tcp:10.0.0.1:4000\n",
	       "after the barrier, another rank's put is there");
	is_str(talk(s, "cmd=get kvsname=kvs_7_0 key=PMI_process_mapping\n"),
	       "cmd=get_result rc=0 msg=success value=(vector,(0,4,1))\n",
	       "a PMI_ key in the exchange does not replace the service's");
	pmi_server_puts(s, &n);
	ok(n == 0, "the puts blob is empty after the barrier");
	ok(pmi_server_barrier_done(s, all, strlen(all), err, sizeof(err)) ==
	       -EINVAL,
	   "ending a barrier that does not wait is refused");
	is_str(talk(s, "cmd=finalize\n"), "cmd=finalize_ack rc=0\n",
	       "finalize is acknowledged");
	ok(pmi_server_state(s) == PMI_FINALIZED, "and ends the service");
	pmi_server_destroy(s);
}

/* The same conversation one byte at a time answers the same. */
static void test_split(void)
{
	static const char text[] = "cmd=init pmi_version=1 pmi_subversion=1\n"
				   "cmd=put kvsname=kvs_7_0 key=k value=v\n"
				   "cmd=get kvsname=kvs_7_0 key=k\n";
	struct pmi_server *s = server(0, 1, 0);
	char all[1024] = "";
	size_t i, n;
	const char *o;

	for (i = 0; i < sizeof(text) - 1; i++) {
		if (pmi_server_feed(s, text + i, 1, err, sizeof(err)) != 1)
			break;
		o = pmi_server_out(s, &n);
		strncat(all, o, n);
		pmi_server_out_done(s, n);
	}
	is_str(all,
	       "cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=0\n"
	       "cmd=put_result rc=0 msg=success\n"
	       "cmd=get_result rc=0 msg=success value=v\n",
	       "lines split byte by byte answer the same");
	pmi_server_destroy(s);
}

/* A client that breaks the protocol ends its service, with a reason. */
static void test_attacks(void)
{
	static const struct {
		const char *text, *what;
		int r;
	} bad[] = {
	    {"hello\n", "a line without cmd=", -EPROTO},
	    {"key=1 cmd=get\n", "cmd= not first", -EPROTO},
	    {"cmd=get key=a key=b\n", "a repeated name", -EPROTO},
	    {"cmd=get key=a\tb\n", "a control character", -EPROTO},
	    {"cmd=get key=\xff\n", "a byte past ASCII", -EPROTO},
	    {"cmd=put kvsname=kvs_7_0 key=a value=\0x\n", "a NUL", -EPROTO},
	    {"cmd=get key\n", "a word without =", -EPROTO},
	    {"cmd=\n", "an empty command name", -EPROTO},
	    {"cmd=a/b\n", "a bad command name", -EPROTO},
	    {"\n", "an empty line", -EPROTO},
	    {"cmd=x a=1 b=1 c=1 d=1 e=1 f=1 g=1 h=1 i=1 j=1 k=1 l=1 m=1 n=1 "
	     "o=1 p=1\n",
	     "17 words", -E2BIG},
	};
	char line[PMI_LINE_MAX + 64];
	struct pmi_server *s;
	size_t i;
	ssize_t r;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = strlen(bad[i].text);

		if (strstr(bad[i].what, "NUL"))
			len =
			    strlen("cmd=put kvsname=kvs_7_0 key=a value=") + 3;
		s = server(0, 2, 0);
		err[0] = 0;
		r = pmi_server_feed(s, bad[i].text, len, err, sizeof(err));
		ok(r == bad[i].r && err[0] && pmi_server_state(s) == PMI_FAILED,
		   "%s fails the connection: %s", bad[i].what, err);
		pmi_server_destroy(s);
	}

	/* One line past the bound, sent without its newline. */
	s = server(0, 2, 0);
	memset(line, 'a', sizeof(line));
	memcpy(line, "cmd=put kvsname=kvs_7_0 key=k value=", 36);
	r = pmi_server_feed(s, line, sizeof(line), err, sizeof(err));
	ok(r == -E2BIG && strstr(err, "4096"),
	   "a line longer than 4096 bytes fails the connection: %s", err);
	r = pmi_server_feed(s, "cmd=get_appnum\n", 15, err, sizeof(err));
	ok(r == -EPROTO, "and nothing more is served on it");
	pmi_server_destroy(s);

	/* A value longer than 1024 in a line shorter than 4096. */
	s = server(0, 2, 0);
	memset(line, 'v', 2000);
	memcpy(line, "cmd=put kvsname=kvs_7_0 key=k value=", 36);
	line[2000] = '\n';
	r = pmi_server_feed(s, line, 2001, err, sizeof(err));
	ok(r == -E2BIG && strstr(err, "value"),
	   "a value longer than 1024 bytes fails the connection: %s", err);
	pmi_server_destroy(s);

	/* A key longer than 64 in a put is refused, the service goes on. */
	s = server(0, 2, 0);
	memset(line, 'k', 200);
	memcpy(line, "cmd=put kvsname=kvs_7_0 key=", 28);
	strcpy(line + 100, " value=1\n");
	is_str(talk(s, line), "cmd=put_result rc=-1 msg=bad_key\n",
	       "a key longer than 64 bytes is refused");
	is_str(talk(s, "cmd=no_such_thing\n"),
	       "cmd=no_such_thing_result rc=-1 msg=unknown_command\n",
	       "an unknown command gets rc=-1");
	is_str(talk(s, "mcmd=spawn\nnprocs=2\nexecname=/bin/x\nendcmd\n"),
	       "cmd=spawn_result rc=-1 msg=spawn_is_not_supported_in_guests\n",
	       "a multi-line spawn is refused with a reason");
	is_str(talk(s, "cmd=spawn nprocs=2\n"),
	       "cmd=spawn_result rc=-1 msg=spawn_is_not_supported_in_guests\n",
	       "a one-line spawn is refused too");
	is_str(talk(s, "cmd=publish_name service=a port=b\n"),
	       "cmd=publish_result rc=-1 msg=not_supported\n",
	       "publish_name is refused");
	is_str(talk(s, "cmd=get_appnum\n"), "cmd=appnum appnum=0 rc=0\n",
	       "and the service goes on after all of them");
	pmi_server_destroy(s);

	/* A multi-line command that never ends. */
	s = server(0, 2, 0);
	talk(s, "mcmd=spawn\n");
	for (i = 0; i <= PMI_MULTI_LINES_MAX; i++)
		if (pmi_server_feed(s, "a=b\n", 4, err, sizeof(err)) < 0)
			break;
	ok(i == PMI_MULTI_LINES_MAX && pmi_server_state(s) == PMI_FAILED,
	   "a multi-line command of more than %d lines fails (%s)",
	   PMI_MULTI_LINES_MAX, err);
	pmi_server_destroy(s);

	/* Puts past the bound of the space. */
	s = server(0, 2, 200);
	for (i = 0; i < 50; i++) {
		snprintf(line, sizeof(line),
			 "cmd=put kvsname=kvs_7_0 key=k%zu value=0123456789\n",
			 i);
		if (strcmp(talk(s, line), "cmd=put_result rc=0 msg=success\n"))
			break;
	}
	ok(i > 0 && i < 50 &&
	       !strcmp(got, "cmd=put_result rc=-1 "
			    "msg=space_full\n"),
	   "puts past the space's bound are refused (after %zu)", i);
	talk(s, "cmd=barrier_in\n");
	memset(line, 0, sizeof(line));
	for (i = 0; i < 20; i++)
		strcat(line, "key=0123456789012345678\n");
	ok(pmi_server_barrier_done(s, line, strlen(line), err, sizeof(err)) ==
	       -ENOSPC,
	   "an exchange past the bound is refused: %s", err);
	pmi_server_destroy(s);

	/* Replies nobody reads: feeding pauses. */
	s = server(0, 2, 0);
	{
		static char many[100 * 1024];
		size_t len = 0;

		while (len + 16 < sizeof(many)) {
			memcpy(many + len, "cmd=get_maxes\n", 14);
			len += 14;
		}
		r = pmi_server_feed(s, many, len, err, sizeof(err));
		ok(r > 0 && (size_t)r < len,
		   "with replies unread, feeding pauses (%zd of %zu taken)", r,
		   len);
	}
	pmi_server_destroy(s);
}

static void test_abort(void)
{
	struct pmi_server *s = server(2, 4, 0);

	talk(s, "cmd=abort exitcode=7\n");
	ok(pmi_server_state(s) == PMI_ABORTED && pmi_server_abort_code(s) == 7,
	   "abort exitcode=7 gives code 7");
	ok(pmi_server_feed(s, "cmd=get_appnum\n", 15, err, sizeof(err)) == 0,
	   "nothing is served after abort");
	pmi_server_destroy(s);
	s = server(2, 4, 0);
	talk(s, "cmd=abort exitcode=99999999999999\n");
	ok(pmi_server_abort_code(s) == 1, "an absurd exit code gives 1");
	pmi_server_destroy(s);
}

static void test_create(void)
{
	struct pmi_server_config c = {.rank = 4, .size = 4, .kvsname = "k"};

	errno = 0;
	ok(!pmi_server_create(&c) && errno == EINVAL, "rank >= size: EINVAL");
	c.rank = 0;
	c.kvsname = "a b";
	ok(!pmi_server_create(&c) && errno == EINVAL,
	   "a kvs name with a space: EINVAL");
	c.kvsname = "";
	ok(!pmi_server_create(&c) && errno == EINVAL,
	   "an empty kvs name: EINVAL");
	pmi_server_destroy(NULL);
	ok(1, "destroying NULL does nothing");
}

static void test_blob(void)
{
	static const char b[] = "a=1\nb=\nc=x=y\n";
	const char *k, *v;
	size_t off = 0, kl, vl;
	int n = 0, r;

	while ((r = pmi_blob_next(b, sizeof(b) - 1, &off, &k, &kl, &v, &vl)) >
	       0)
		n++;
	ok(r == 0 && n == 3, "a blob of 3 entries reads as 3 (%d)", n);
	off = 0;
	ok(pmi_blob_next("a=1", 3, &off, &k, &kl, &v, &vl) == -EPROTO,
	   "an entry without its newline is malformed");
	off = 0;
	ok(pmi_blob_next("=1\n", 3, &off, &k, &kl, &v, &vl) == -EPROTO,
	   "an empty key is malformed");
	off = 0;
	ok(pmi_blob_next("a b=1\n", 6, &off, &k, &kl, &v, &vl) == -EPROTO,
	   "a key with a space is malformed");
}

int main(void)
{
	test_create();
	test_conversation();
	test_split();
	test_attacks();
	test_abort();
	test_blob();
	return done_testing();
}

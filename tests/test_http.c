/* HTTP/1.x (dissectors/http.c): messages fed the way the core feeds a
 * stream (unconsumed bytes kept and handed back with the next ones), in
 * arbitrary splits, and the record read back as JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "portolan/dissector.h"
#include "portolan/json.h"
#include "portolan/session.h"

extern const struct dissector http_dissector;

/* ---- a stream the way src/dissect.c drives it ---- */

struct flow {
	struct session *s;
	void *state;
	uint8_t *pending[2];
	size_t len[2];
	size_t consumed[2]; /* bytes on_data said it consumed, in total */
};

static struct flow *flow_open(void)
{
	struct ip_addr client = {.version = 4, .b = {192, 0, 2, 10}};
	struct ip_addr server = {.version = 4, .b = {192, 0, 2, 80}};
	struct flow *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->s = session_detached_new(true, &client, 40000, &server, 80);
	f->state = calloc(1, http_dissector.state_size);
	assert_non_null(f->s);
	assert_non_null(f->state);
	return f;
}

static void flow_close(struct flow *f)
{
	http_dissector.release(f->state);
	free(f->state);
	free(f->pending[0]);
	free(f->pending[1]);
	session_detached_free(f->s);
	free(f);
}

/* Appends bytes to the direction's pending ones and hands them over until
 * the dissector stops consuming, as drain_pending does. */
static void feed(struct flow *f, enum direction dir, const void *data, size_t n)
{
	uint8_t *p = realloc(f->pending[dir], f->len[dir] + n + 1);
	assert_non_null(p);
	if (n)
		memcpy(p + f->len[dir], data, n);
	f->pending[dir] = p;
	f->len[dir] += n;
	while (f->len[dir]) {
		size_t used = http_dissector.on_data(f->s, f->state, dir,
		                                     rd_init(f->pending[dir], f->len[dir]));
		assert_true(used <= f->len[dir]);
		if (used == 0)
			break;
		memmove(f->pending[dir], f->pending[dir] + used, f->len[dir] - used);
		f->len[dir] -= used;
		f->consumed[dir] += used;
	}
}

static void feed_str(struct flow *f, enum direction dir, const char *text)
{
	feed(f, dir, text, strlen(text));
}

/* The text in pieces of `step` bytes. */
static void feed_steps(struct flow *f, enum direction dir, const char *text, size_t step)
{
	size_t n = strlen(text);
	for (size_t at = 0; at < n; at += step)
		feed(f, dir, text + at, n - at < step ? n - at : step);
}

/* Bytes lost: the core drops what was pending and tells the dissector. */
static void gap(struct flow *f, enum direction dir, size_t missing)
{
	f->len[dir] = 0;
	http_dissector.on_gap(f->s, f->state, dir, missing);
}

static void end(struct flow *f)
{
	http_dissector.on_end(f->s, f->state);
}

/* The dissector's keys rendered as one JSON object; the caller frees it. */
static char *render(const struct flow *f)
{
	struct json_writer jw;
	json_writer_init(&jw, 1 << 20);
	emit_object_begin(&jw.e, NULL);
	http_dissector.emit(f->state, &jw.e);
	emit_object_end(&jw.e);
	assert_false(jw.overflow);
	char *text = strdup(json_writer_text(&jw));
	json_writer_free(&jw);
	assert_non_null(text);
	return text;
}

static void assert_contains(const char *haystack, const char *needle)
{
	if (!strstr(haystack, needle))
		fail_msg("\"%s\" not in %s", needle, haystack);
}

static void assert_lacks(const char *haystack, const char *needle)
{
	if (strstr(haystack, needle))
		fail_msg("\"%s\" unexpectedly in %s", needle, haystack);
}

static size_t count_of(const char *haystack, const char *needle)
{
	size_t n = 0;
	for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* One whole exchange fed in one piece per direction, rendered. */
static char *exchange(const char *request, const char *response)
{
	struct flow *f = flow_open();
	feed_str(f, DIR_CLIENT, request);
	feed_str(f, DIR_SERVER, response);
	end(f);
	char *text = render(f);
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	flow_close(f);
	return text;
}

/* The same exchange with each direction in pieces of `step`, interleaved
 * request first; must render the same as in one piece. */
static void assert_same_in_steps(const char *request, const char *response, size_t step)
{
	char *whole = exchange(request, response);
	struct flow *f = flow_open();
	feed_steps(f, DIR_CLIENT, request, step);
	feed_steps(f, DIR_SERVER, response, step);
	end(f);
	char *text = render(f);
	if (strcmp(whole, text) != 0)
		fail_msg("in steps of %zu: %s\nwhole: %s", step, text, whole);
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(text);
	free(whole);
	flow_close(f);
}

/* Every split of each direction into two pieces renders the same. */
static void assert_same_at_every_split(const char *request, const char *response)
{
	char *whole = exchange(request, response);
	size_t nq = strlen(request), nr = strlen(response);
	for (size_t i = 0; i <= nq + nr; i++) {
		struct flow *f = flow_open();
		size_t qi = i < nq ? i : nq, ri = i < nq ? 0 : i - nq;
		feed(f, DIR_CLIENT, request, qi);
		feed(f, DIR_CLIENT, request + qi, nq - qi);
		feed(f, DIR_SERVER, response, ri);
		feed(f, DIR_SERVER, response + ri, nr - ri);
		end(f);
		char *text = render(f);
		if (strcmp(whole, text) != 0)
			fail_msg("split at %zu: %s\nwhole: %s", i, text, whole);
		free(text);
		flow_close(f);
	}
	free(whole);
}

/* ---- the probe ---- */

static enum verdict probe(const char *text)
{
	return http_dissector.probe(rd_init(text, strlen(text)), DIR_CLIENT);
}

static void test_probe(void **unused)
{
	(void)unused;
	assert_int_equal(probe("GET / HTTP/1.1\r\n"), VERDICT_YES);
	assert_int_equal(probe("POST /form?a=b HTTP/1.0\r\nHost: x\r\n"), VERDICT_YES);
	assert_int_equal(probe("PROPFIND /dav/ HTTP/1.1\r\n"), VERDICT_YES);
	assert_int_equal(probe("CONNECT example.com:443 HTTP/1.1\r\n"), VERDICT_YES);
	assert_int_equal(probe("HTTP/1.1 200 OK\r\n"), VERDICT_YES);
	assert_int_equal(probe("HTTP/1.0 404"), VERDICT_YES);

	assert_int_equal(probe(""), VERDICT_NEED_MORE);
	assert_int_equal(probe("G"), VERDICT_NEED_MORE);
	assert_int_equal(probe("GET"), VERDICT_NEED_MORE);
	assert_int_equal(probe("GET /index"), VERDICT_NEED_MORE);
	assert_int_equal(probe("GET /index.html HTT"), VERDICT_NEED_MORE);
	assert_int_equal(probe("HTTP/1"), VERDICT_NEED_MORE);
	assert_int_equal(probe("HTTP/1.1 20"), VERDICT_NEED_MORE);
	assert_int_equal(probe("P"), VERDICT_NEED_MORE); /* POST, PUT, PATCH ... */

	assert_int_equal(probe("GETX / HTTP/1.1\r\n"), VERDICT_NO);
	assert_int_equal(probe("get / HTTP/1.1\r\n"), VERDICT_NO);
	assert_int_equal(probe("GET  HTTP/1.1\r\n"), VERDICT_NO);
	assert_int_equal(probe("GET / HTTP/2.0\r\n"), VERDICT_NO);
	assert_int_equal(probe("GET /a\r\n"), VERDICT_NO);
	assert_int_equal(probe("HTTP/2 200\r\n"), VERDICT_NO);
	assert_int_equal(probe("HTTP/1.1 2x0"), VERDICT_NO);
	assert_int_equal(probe("SSH-2.0-OpenSSH_9.2\r\n"), VERDICT_NO);
	assert_int_equal(probe("\x16\x03\x01\x02\x00"), VERDICT_NO);
	assert_int_equal(probe("PRI * HTTP/2.0\r\n"), VERDICT_NO);
	assert_int_equal(http_dissector.probe(rd_init(NULL, 0), DIR_SERVER), VERDICT_NEED_MORE);
}

/* ---- exchanges ---- */

static const char simple_request[] = "GET /index.html HTTP/1.1\r\n"
                                     "Host: www.example.com\r\n"
                                     "User-Agent: curl/8.0\r\n"
                                     "Accept: */*\r\n"
                                     "\r\n";
static const char simple_response[] = "HTTP/1.1 200 OK\r\n"
                                      "Server: nginx\r\n"
                                      "Content-Type: text/html\r\n"
                                      "Content-Length: 5\r\n"
                                      "\r\n"
                                      "hello";

static void test_simple_get(void **unused)
{
	(void)unused;
	char *text = exchange(simple_request, simple_response);
	assert_string_equal(text, "{\"requests\":[{\"method\":\"GET\",\"host\":\"www.example.com\","
	                          "\"uri\":\"/index.html\",\"user_agent\":\"curl/8.0\","
	                          "\"status\":200,\"version\":\"1.1\",\"request_body_len\":0,"
	                          "\"reason\":\"OK\",\"response_version\":\"1.1\","
	                          "\"server\":\"nginx\",\"content_type\":\"text/html\","
	                          "\"response_body_len\":5}]}");
	free(text);
	assert_same_at_every_split(simple_request, simple_response);
	assert_same_in_steps(simple_request, simple_response, 1);
}

static void test_summary(void **unused)
{
	(void)unused;
	struct flow *f = flow_open();
	char buf[128];
	http_dissector.summarize(f->state, buf, sizeof buf);
	assert_string_equal(buf, "");
	feed_str(f, DIR_CLIENT, simple_request);
	http_dissector.summarize(f->state, buf, sizeof buf);
	assert_string_equal(buf, "GET www.example.com/index.html -> no response");
	feed_str(f, DIR_SERVER, simple_response);
	feed_str(f, DIR_CLIENT, simple_request);
	feed_str(f, DIR_CLIENT, simple_request);
	http_dissector.summarize(f->state, buf, sizeof buf);
	assert_string_equal(buf, "GET www.example.com/index.html -> 200 (+2 more)");
	http_dissector.summarize(f->state, buf, 8); /* never past n */
	assert_int_equal(strlen(buf), 7);
	flow_close(f);
}

static const char keepalive_requests[] = "POST /api HTTP/1.1\r\n"
                                         "Host: api.example\r\n"
                                         "Content-Type: application/json\r\n"
                                         "Content-Length: 13\r\n"
                                         "\r\n"
                                         "{\"a\":\"GET /\"}"
                                         "GET /second HTTP/1.1\r\n"
                                         "Host: api.example\r\n"
                                         "\r\n";
static const char keepalive_responses[] = "HTTP/1.1 201 Created\r\n"
                                          "Content-Length: 12\r\n"
                                          "\r\n"
                                          "HTTP/1.1 200"
                                          "HTTP/1.1 404 Not Found\r\n"
                                          "content-length: 0\r\n"
                                          "\r\n";

static void test_keepalive_content_length(void **unused)
{
	(void)unused;
	char *text = exchange(keepalive_requests, keepalive_responses);
	assert_int_equal(count_of(text, "\"method\""), 2);
	assert_contains(text, "\"method\":\"POST\",\"host\":\"api.example\",\"uri\":\"/api\"");
	assert_contains(text, "\"status\":201,\"version\":\"1.1\",\"request_body_len\":13");
	assert_contains(text, "\"response_body_len\":12}");
	assert_contains(text, "\"uri\":\"/second\",\"user_agent\":null,\"status\":404");
	assert_contains(text, "\"reason\":\"Not Found\"");
	free(text);
	assert_same_at_every_split(keepalive_requests, keepalive_responses);
	assert_same_in_steps(keepalive_requests, keepalive_responses, 1);
	assert_same_in_steps(keepalive_requests, keepalive_responses, 7);
}

static const char pipelined_requests[] = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
                                         "HEAD /2 HTTP/1.1\r\nHost: a\r\n\r\n"
                                         "GET /3 HTTP/1.1\r\nHost: a\r\n\r\n";
static const char pipelined_responses[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"
                                          "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
                                          "HTTP/1.1 302 Found\r\nContent-Length: 5\r\n\r\nthree";

static void test_pipelined(void **unused)
{
	(void)unused;
	struct flow *f = flow_open();
	feed_str(f, DIR_CLIENT, pipelined_requests); /* all three before any answer */
	feed_str(f, DIR_SERVER, pipelined_responses);
	char *text = render(f);
	assert_int_equal(count_of(text, "\"method\""), 3);
	assert_contains(text, "\"uri\":\"/1\",\"user_agent\":null,\"status\":200");
	assert_contains(text, "\"method\":\"HEAD\",\"host\":\"a\",\"uri\":\"/2\"");
	/* HEAD: the Content-Length says what a GET would get, no body follows */
	assert_contains(text, "\"uri\":\"/2\",\"user_agent\":null,\"status\":200");
	assert_contains(text, "\"uri\":\"/3\",\"user_agent\":null,\"status\":302");
	assert_contains(text, "\"response_body_len\":3}");
	assert_contains(text, "\"response_body_len\":0}");
	assert_contains(text, "\"response_body_len\":5}");
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(text);
	flow_close(f);
	assert_same_in_steps(pipelined_requests, pipelined_responses, 1);
	assert_same_at_every_split(pipelined_requests, pipelined_responses);
}

static const char chunked_request[] = "POST /upload HTTP/1.1\r\n"
                                      "Host: up.example\r\n"
                                      "Transfer-Encoding: gzip, chunked\r\n"
                                      "\r\n"
                                      "4;name=value\r\n"
                                      "abcd\r\n"
                                      "0\r\n"
                                      "\r\n"
                                      "GET /after HTTP/1.1\r\n\r\n";
static const char chunked_response[] = "HTTP/1.1 200 OK\r\n"
                                       "Transfer-Encoding: chunked\r\n"
                                       "Trailer: Expires\r\n"
                                       "\r\n"
                                       "1A ; ext=\"quoted;value\"\r\n"
                                       "abcdefghijklmnopqrstuvwxyz\r\n"
                                       "10\r\n"
                                       "0123456789\r\n\r\n\r\n\r\n"
                                       "0;last\r\n"
                                       "Expires: never\r\n"
                                       "X-Checksum: 1234\r\n"
                                       "\r\n"
                                       "HTTP/1.1 204 No Content\r\n\r\n";

static void test_chunked(void **unused)
{
	(void)unused;
	char *text = exchange(chunked_request, chunked_response);
	assert_int_equal(count_of(text, "\"method\""), 2);
	assert_contains(text, "\"uri\":\"/upload\",\"user_agent\":null,\"status\":200,"
	                      "\"version\":\"1.1\",\"request_body_len\":4");
	assert_contains(text, "\"response_body_len\":42}");
	assert_contains(text, "\"uri\":\"/after\",\"user_agent\":null,\"status\":204");
	assert_lacks(text, "incomplete");
	free(text);
	assert_same_at_every_split(chunked_request, chunked_response);
	assert_same_in_steps(chunked_request, chunked_response, 1);
	assert_same_in_steps(chunked_request, chunked_response, 3);
}

static void test_bad_chunk_size(void **unused)
{
	(void)unused;
	struct flow *f = flow_open();
	feed_str(f, DIR_CLIENT, "GET / HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
	feed_str(f, DIR_SERVER,
	         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	         "zz\r\njunk\r\n"
	         "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	char *text = render(f);
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	assert_int_equal(session_counter_value(f->s, "http.bad_chunk"), 1);
	assert_contains(text, "\"status\":200,\"version\":\"1.1\",\"request_body_len\":0,"
	                      "\"reason\":\"OK\"");
	assert_contains(text, "\"incomplete\":true");
	assert_int_equal(count_of(text, "\"status\":200"), 2); /* resynchronised */
	free(text);
	flow_close(f);
}

static void test_head_response_has_no_body(void **unused)
{
	(void)unused;
	static const char req[] = "HEAD /big.iso HTTP/1.1\r\nHost: mirror\r\n\r\n"
	                          "GET /small HTTP/1.1\r\nHost: mirror\r\n\r\n";
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 4700000000\r\n"
	                           "Content-Type: application/octet-stream\r\n\r\n"
	                           "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
	char *text = exchange(req, resp);
	assert_contains(text, "\"method\":\"HEAD\"");
	assert_contains(text, "\"content_type\":\"application/octet-stream\","
	                      "\"response_body_len\":0}");
	assert_contains(text, "\"uri\":\"/small\",\"user_agent\":null,\"status\":200");
	assert_contains(text, "\"response_body_len\":2}");
	free(text);
	assert_same_in_steps(req, resp, 1);
}

static void test_100_continue(void **unused)
{
	(void)unused;
	struct flow *f = flow_open();
	feed_str(f, DIR_CLIENT,
	         "PUT /file HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
	         "Content-Length: 5\r\n\r\n");
	feed_str(f, DIR_SERVER, "HTTP/1.1 100 Continue\r\nServer: interim\r\n\r\n");
	char *text = render(f);
	assert_contains(text, "\"status\":null");
	assert_contains(text, "\"informational\":[100]");
	free(text);
	feed_str(f, DIR_CLIENT, "12345");
	feed_str(f, DIR_SERVER,
	         "HTTP/1.1 201 Created\r\nServer: final\r\n"
	         "Content-Length: 0\r\n\r\n");
	feed_str(f, DIR_CLIENT, "GET /next HTTP/1.1\r\n\r\n");
	feed_str(f, DIR_SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	end(f);
	text = render(f);
	assert_contains(text, "\"method\":\"PUT\",\"host\":\"h\",\"uri\":\"/file\","
	                      "\"user_agent\":null,\"status\":201,\"version\":\"1.1\","
	                      "\"request_body_len\":5,\"reason\":\"Created\","
	                      "\"response_version\":\"1.1\",\"server\":\"final\","
	                      "\"content_type\":null,\"response_body_len\":0,"
	                      "\"informational\":[100]}");
	assert_contains(text, "\"uri\":\"/next\",\"user_agent\":null,\"status\":200");
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(text);
	flow_close(f);
}

static void test_204_and_304(void **unused)
{
	(void)unused;
	static const char req[] = "DELETE /x HTTP/1.1\r\n\r\n"
	                          "GET /y HTTP/1.1\r\nIf-None-Match: \"e\"\r\n\r\n"
	                          "GET /z HTTP/1.1\r\n\r\n";
	/* 204 and 304 carry no body whatever their headers say */
	static const char resp[] = "HTTP/1.1 204 No Content\r\nContent-Length: 99\r\n\r\n"
	                           "HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\n\r\n"
	                           "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz";
	char *text = exchange(req, resp);
	assert_contains(text, "\"uri\":\"/x\",\"user_agent\":null,\"status\":204");
	assert_contains(text, "\"uri\":\"/y\",\"user_agent\":null,\"status\":304");
	assert_contains(text, "\"uri\":\"/z\",\"user_agent\":null,\"status\":200");
	assert_int_equal(count_of(text, "\"response_body_len\":0}"), 2);
	assert_contains(text, "\"response_body_len\":1}");
	free(text);
	assert_same_at_every_split(req, resp);
}

static void test_read_until_close(void **unused)
{
	(void)unused;
	static const char req[] = "GET /old HTTP/1.0\r\n\r\n";
	static const char resp[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n"
	                           "body HTTP/1.1 200 OK\r\n\r\nstill body\r\n";
	char *text = exchange(req, resp);
	assert_int_equal(count_of(text, "\"method\""), 1);
	assert_int_equal(count_of(text, "\"status\""), 1);
	assert_contains(text, "\"version\":\"1.0\"");
	assert_contains(text, "\"response_version\":\"1.0\"");
	assert_contains(text, "\"response_body_len\":36}");
	assert_lacks(text, "incomplete");
	free(text);
	assert_same_in_steps(req, resp, 1);

	/* Connection: close on 1.1 without a length: the same */
	text = exchange("GET / HTTP/1.1\r\n\r\n",
	                "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n0123456789");
	assert_contains(text, "\"response_body_len\":10}");
	free(text);
}

static void test_request_without_length_has_no_body(void **unused)
{
	(void)unused;
	char *text = exchange("POST /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
	                      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
	                      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(count_of(text, "\"method\""), 2);
	assert_contains(text, "\"method\":\"POST\"");
	assert_contains(text, "\"uri\":\"/b\"");
	free(text);
}

static const char tls_client_hello[] = "\x16\x03\x01\x00\x05hello";

static void test_connect(void **unused)
{
	(void)unused;
	static const char req[] = "CONNECT example.com:443 HTTP/1.1\r\n"
	                          "Host: example.com:443\r\n"
	                          "User-Agent: proxy-client\r\n"
	                          "\r\n";
	static const char resp[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	struct flow *f = flow_open();
	feed_str(f, DIR_CLIENT, req);
	/* the client's next bytes wait for the answer */
	feed(f, DIR_CLIENT, tls_client_hello, sizeof tls_client_hello - 1);
	assert_int_equal(f->consumed[DIR_CLIENT], strlen(req));
	feed_str(f, DIR_SERVER, resp);
	size_t server_before_tls = f->consumed[DIR_SERVER];
	/* (after a handoff the core gives these to TLS; this helper still
	 * offers them to HTTP, which ignores them) */
	feed(f, DIR_SERVER, "\x16\x03\x03\x00\x01x", 6);

	const char *target = session_handoff_target(f->s);
	char *text = render(f);
	/* session_handoff succeeds exactly when a "tls" dissector is registered */
	assert_true((target != NULL) == (dissector_by_name("tls") != NULL));
	assert_contains(text, "\"method\":\"CONNECT\",\"host\":\"example.com:443\","
	                      "\"uri\":\"example.com:443\",\"user_agent\":\"proxy-client\","
	                      "\"status\":200");
	if (target) {
		/* handed off: the bytes after the 200 were left for TLS */
		assert_string_equal(target, "tls");
		assert_int_equal(server_before_tls, strlen(resp));
		assert_lacks(text, "tunnelled");
	} else {
		/* no TLS dissector: a tunnel, consumed silently */
		assert_contains(text, "\"tunnelled\":true");
		assert_int_equal(session_counter_value(f->s, "http.tunnelled"), 1);
		feed(f, DIR_CLIENT, "GET / HTTP/1.1\r\n\r\n", 18);
		assert_int_equal(f->len[DIR_CLIENT], 0);
		assert_int_equal(f->len[DIR_SERVER], 0);
	}
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(text);
	flow_close(f);
}

static void test_connect_refused(void **unused)
{
	(void)unused;
	struct flow *f = flow_open();
	feed_str(f, DIR_CLIENT, "CONNECT internal:22 HTTP/1.1\r\nHost: internal:22\r\n\r\n");
	feed_str(f, DIR_SERVER, "HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\n\r\nno way");
	feed_str(f, DIR_CLIENT, "GET http://a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n");
	feed_str(f, DIR_SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	char *text = render(f);
	assert_null(session_handoff_target(f->s));
	assert_contains(text, "\"uri\":\"internal:22\",\"user_agent\":null,\"status\":403");
	assert_contains(text, "\"uri\":\"http://a.example/\",\"user_agent\":null,\"status\":200");
	assert_lacks(text, "tunnelled");
	free(text);
	flow_close(f);
}

static void test_websocket_upgrade(void **unused)
{
	(void)unused;
	struct flow *f = flow_open();
	feed_str(f, DIR_CLIENT,
	         "GET /chat HTTP/1.1\r\nHost: ws.example\r\n"
	         "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	         "Sec-WebSocket-Version: 13\r\n\r\n");
	feed_str(f, DIR_SERVER,
	         "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	         "Connection: Upgrade\r\n"
	         "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
	         "\x81\x05Hello");
	feed(f, DIR_CLIENT, "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
	feed_str(f, DIR_CLIENT, "GET /not-http-any-more HTTP/1.1\r\n\r\n");
	end(f);
	char *text = render(f);
	assert_int_equal(count_of(text, "\"method\""), 1);
	assert_contains(text, "\"status\":101");
	assert_contains(text, "\"upgrade\":\"websocket\"");
	assert_lacks(text, "incomplete");
	assert_int_equal(f->len[DIR_CLIENT], 0);
	assert_int_equal(f->len[DIR_SERVER], 0);
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	assert_null(session_handoff_target(f->s));
	free(text);
	flow_close(f);
}

static void test_upgrade_declined(void **unused)
{
	(void)unused;
	/* h2c asked for, refused with a plain 200: HTTP/1.1 goes on */
	char *text = exchange("GET / HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n"
	                      "GET /two HTTP/1.1\r\n\r\n",
	                      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
	                      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(count_of(text, "\"status\":200"), 2);
	assert_contains(text, "\"uri\":\"/two\"");
	assert_lacks(text, "upgrade");
	free(text);
}

static void test_response_first(void **unused)
{
	(void)unused;
	struct flow *f = flow_open();
	/* the capture starts inside a body, then a whole response */
	feed_str(f, DIR_SERVER,
	         "HTTP/1.1 500 Internal Server Error\r\nServer: x\r\n"
	         "Content-Length: 3\r\n\r\nerr");
	feed_str(f, DIR_SERVER, "HTTP/1.1 100 Continue\r\n\r\n"); /* nothing to attach to */
	feed_str(f, DIR_CLIENT, simple_request);
	feed_str(f, DIR_SERVER, simple_response);
	char *text = render(f);
	assert_int_equal(count_of(text, "{\"method\""), 2);
	assert_contains(text, "{\"method\":null,\"host\":null,\"uri\":null,\"user_agent\":null,"
	                      "\"status\":500,\"version\":null,\"request_body_len\":null,"
	                      "\"reason\":\"Internal Server Error\"");
	assert_contains(text, "\"uri\":\"/index.html\",\"user_agent\":\"curl/8.0\",\"status\":200");
	assert_lacks(text, "informational");
	char buf[64];
	http_dissector.summarize(f->state, buf, sizeof buf);
	assert_string_equal(buf, "(no request) -> 500 (+1 more)");
	free(text);
	flow_close(f);
}

static void test_gap_inside_body(void **unused)
{
	(void)unused;
	struct flow *f = flow_open();
	feed_str(f, DIR_CLIENT, "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
	feed_str(f, DIR_SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789");
	gap(f, DIR_SERVER, 980); /* the hole is inside the body: still in step */
	feed_str(f, DIR_SERVER, "0123456789HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
	char *text = render(f);
	assert_contains(text, "\"status\":200");
	assert_contains(text, "\"response_body_len\":1000,\"gap\":true}");
	assert_contains(text, "\"uri\":\"/b\",\"user_agent\":null,\"status\":404");
	assert_lacks(text, "incomplete");
	assert_int_equal(session_counter_value(f->s, "http.resync"), 0);
	free(text);
	flow_close(f);

	/* a chunk's data, and a hole exactly to its end */
	f = flow_open();
	feed_str(f, DIR_CLIENT, "GET /a HTTP/1.1\r\n\r\n");
	feed_str(f, DIR_SERVER,
	         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	         "100\r\nabc");
	gap(f, DIR_SERVER, 253);
	feed_str(f, DIR_SERVER, "\r\n0\r\n\r\n");
	end(f);
	text = render(f);
	assert_contains(text, "\"response_body_len\":256,\"gap\":true}");
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(text);
	flow_close(f);
}

static void test_gap_past_body_resyncs(void **unused)
{
	(void)unused;
	struct flow *f = flow_open();
	feed_str(f, DIR_CLIENT,
	         "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n"
	         "GET /c HTTP/1.1\r\n\r\n");
	feed_str(f, DIR_SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234");
	/* the rest of the body, the next response's status line and part of a
	 * header: the next bytes start mid-line */
	gap(f, DIR_SERVER, 40);
	feed_str(f, DIR_SERVER, "ength: 6\r\n\r\nbody\r\nHTTP/1.1 204 No Content\r\n\r\n");
	char *text = render(f);
	assert_contains(text, "\"uri\":\"/a\",\"user_agent\":null,\"status\":200");
	assert_contains(text, "\"incomplete\":true,\"gap\":true}");
	/* the second answer was lost; the third pairs with the next request */
	assert_contains(text, "\"uri\":\"/b\",\"user_agent\":null,\"status\":204");
	assert_int_equal(session_counter_value(f->s, "http.resync"), 1);
	free(text);
	flow_close(f);
}

static void test_gap_inside_headers(void **unused)
{
	(void)unused;
	struct flow *f = flow_open();
	feed_str(f, DIR_CLIENT, "GET /first HTTP/1.1\r\nHost: one\r\nUser-Ag");
	gap(f, DIR_CLIENT, 500);
	feed_str(f, DIR_CLIENT,
	         "rest of a lost line\r\nCookie: x\r\n\r\n"
	         "GET /second HTTP/1.1\r\nHost: two\r\n\r\n");
	feed_str(f, DIR_SERVER,
	         "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
	         "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	char *text = render(f);
	assert_contains(text, "\"host\":\"one\",\"uri\":\"/first\"");
	assert_contains(text, "\"incomplete\":true,\"gap\":true");
	assert_contains(text, "\"host\":\"two\",\"uri\":\"/second\"");
	assert_int_equal(count_of(text, "\"status\":200"), 2);
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(text);
	flow_close(f);

	/* a gap in an until-close body just counts */
	f = flow_open();
	feed_str(f, DIR_CLIENT, "GET / HTTP/1.0\r\n\r\n");
	feed_str(f, DIR_SERVER, "HTTP/1.0 200 OK\r\n\r\nabc");
	gap(f, DIR_SERVER, 100);
	feed_str(f, DIR_SERVER, "def");
	end(f);
	text = render(f);
	assert_contains(text, "\"response_body_len\":106,\"gap\":true}");
	free(text);
	flow_close(f);
}

/* Every prefix of an exchange, then the end of the flow: no crash, and the
 * record holds what had arrived whole. */
static void test_every_truncation_point(void **unused)
{
	(void)unused;
	static const char req[] = "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc";
	static const char resp[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	                           "3;x\r\nxyz\r\n0\r\nT: 1\r\n\r\n";
	size_t nq = strlen(req), nr = strlen(resp);
	size_t line_q = strlen("POST /p HTTP/1.1\r\n"), line_r = strlen("HTTP/1.1 200 OK\r\n");

	for (size_t i = 0; i <= nq + nr; i++) {
		struct flow *f = flow_open();
		size_t qi = i < nq ? i : nq, ri = i < nq ? 0 : i - nq;
		feed(f, DIR_CLIENT, req, qi);
		feed(f, DIR_SERVER, resp, ri);
		end(f);
		char *text = render(f);
		if (qi < line_q)
			assert_string_equal(text, "{\"requests\":[]}");
		else
			assert_contains(text, "\"method\":\"POST\"");
		if (ri < line_r)
			assert_lacks(text, "\"status\":200");
		else
			assert_contains(text, "\"status\":200");
		if ((qi >= line_q && qi < nq) || (ri >= line_r && ri < nr))
			assert_contains(text, "\"incomplete\":true");
		else
			assert_lacks(text, "incomplete");
		if (i == nq + nr)
			assert_contains(text, "\"request_body_len\":3,");
		assert_false(session_has_alert(f->s, ALERT_MALFORMED));
		free(text);
		flow_close(f);
	}
}

static void test_header_too_long(void **unused)
{
	(void)unused;
	size_t big = 20000;
	char *req = malloc(big + 200);
	assert_non_null(req);
	strcpy(req, "GET /c HTTP/1.1\r\nHost: cookie.example\r\nCookie: ");
	size_t at = strlen(req);
	memset(req + at, 'c', big);
	strcpy(req + at + big, "\r\nUser-Agent: after-the-cookie\r\n\r\n");

	struct flow *f = flow_open();
	feed_steps(f, DIR_CLIENT, req, 1460);
	assert_true(f->len[DIR_CLIENT] <= 8192 + 2); /* never buffered whole */
	feed_str(f, DIR_SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	char *text = render(f);
	assert_contains(text, "\"host\":\"cookie.example\"");
	assert_contains(text, "\"user_agent\":\"after-the-cookie\",\"status\":200");
	assert_contains(text, "\"headers_truncated\":true");
	assert_int_equal(session_counter_value(f->s, "http.header_too_long"), 1);
	free(text);
	flow_close(f);

	/* a request line over the cap: the target is kept cut */
	memcpy(req, "GET /", 5);
	memset(req + 5, 'u', big);
	strcpy(req + 5 + big, " HTTP/1.1\r\nHost: h\r\n\r\n");
	f = flow_open();
	feed_steps(f, DIR_CLIENT, req, 1000);
	feed_str(f, DIR_SERVER, "HTTP/1.1 414 URI Too Long\r\nContent-Length: 0\r\n\r\n");
	text = render(f);
	assert_contains(text, "\"host\":\"h\"");
	assert_contains(text, "\"status\":414,\"version\":null");
	/* the URI is kept up to the line cap (8192): "GET /" and 8187 u's */
	assert_int_equal(session_counter_value(f->s, "http.header_too_long"), 1);
	char *uri = strstr(text, "\"uri\":\"");
	assert_non_null(uri);
	assert_int_equal(strspn(uri + 8, "u"), 8187);
	free(text);
	flow_close(f);
	free(req);
}

static void test_too_many_headers(void **unused)
{
	(void)unused;
	struct flow *f = flow_open();
	feed_str(f, DIR_CLIENT, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < 200; i++)
		feed_str(f, DIR_CLIENT, "X-Filler: 1\r\n");
	feed_str(f, DIR_CLIENT, "Host: late\r\n\r\nGET /2 HTTP/1.1\r\n\r\n");
	char *text = render(f);
	assert_int_equal(session_counter_value(f->s, "http.too_many_headers"), 1);
	assert_contains(text, "\"host\":null");
	assert_contains(text, "\"headers_truncated\":true");
	assert_contains(text, "\"uri\":\"/2\"");
	free(text);
	flow_close(f);
}

static void test_transaction_cap(void **unused)
{
	(void)unused;
	struct flow *f = flow_open();
	for (int i = 0; i < 70; i++) {
		char req[64];
		snprintf(req, sizeof req, "%s /%d HTTP/1.1\r\n\r\n", i == 68 ? "HEAD" : "GET", i);
		feed_str(f, DIR_CLIENT, req);
	}
	for (int i = 0; i < 70; i++)
		feed_str(f, DIR_SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	/* a response nobody asked for, past the cap */
	feed_str(f, DIR_SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	char *text = render(f);
	assert_int_equal(count_of(text, "{\"method\""), 64);
	assert_contains(text, "\"uri\":\"/63\"");
	assert_lacks(text, "\"uri\":\"/64\"");
	assert_contains(text, "],\"truncated\":7}");
	assert_int_equal(session_counter_value(f->s, "http.too_many_transactions"), 1);
	/* the dropped HEAD's answer was framed right: nothing went astray */
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	assert_int_equal(f->len[DIR_SERVER], 0);
	char buf[80];
	http_dissector.summarize(f->state, buf, sizeof buf);
	assert_string_equal(buf, "GET /0 -> 200 (+70 more)");
	free(text);
	flow_close(f);
}

static void test_interim_cap(void **unused)
{
	(void)unused;
	struct flow *f = flow_open();
	feed_str(f, DIR_CLIENT, "POST /slow HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
	for (int i = 0; i < 6; i++)
		feed_str(f, DIR_SERVER, "HTTP/1.1 102 Processing\r\n\r\n");
	feed_str(f, DIR_SERVER,
	         "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"
	         "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	char *text = render(f);
	assert_contains(text, "\"status\":200");
	assert_contains(text, "\"informational\":[102,102,102,102]");
	assert_int_equal(session_counter_value(f->s, "http.too_many_interim"), 3);
	free(text);
	flow_close(f);
}

/* More unanswered requests than the ring of request kinds holds: counted;
 * plain requests are still paired in order. */
static void test_deep_pipeline(void **unused)
{
	(void)unused;
	struct flow *f = flow_open();
	for (int i = 0; i < 40; i++)
		feed_str(f, DIR_CLIENT, "GET /p HTTP/1.1\r\n\r\n");
	for (int i = 0; i < 40; i++)
		feed_str(f, DIR_SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx");
	feed_str(f, DIR_CLIENT, "HEAD /h HTTP/1.1\r\n\r\n");
	feed_str(f, DIR_SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n");
	char *text = render(f);
	assert_int_equal(session_counter_value(f->s, "http.too_many_pipelined"), 8);
	assert_int_equal(count_of(text, "\"status\":200"), 41);
	assert_int_equal(count_of(text, "\"response_body_len\":1}"), 40);
	assert_contains(text, "\"method\":\"HEAD\"");
	assert_lacks(text, "\"status\":null");
	free(text);
	flow_close(f);
}

static void test_malformed_resyncs(void **unused)
{
	(void)unused;
	struct flow *f = flow_open();
	feed_str(f, DIR_CLIENT,
	         "\x16\x03\x01 garbage\r\nmore garbage\r\n"
	         "GET /ok HTTP/1.1\r\nHost: h\r\nno colon here\r\n"
	         "Bad Name: x\r\n\r\n");
	feed_str(f, DIR_SERVER, "HTTP/1.1 abc\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	char *text = render(f);
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	assert_int_equal(session_counter_value(f->s, "http.bad_start_line"), 2);
	assert_int_equal(session_counter_value(f->s, "http.bad_header"), 2);
	assert_contains(text, "\"host\":\"h\",\"uri\":\"/ok\",\"user_agent\":null,\"status\":200");
	free(text);
	flow_close(f);

	/* conflicting lengths in a request: no framing, resync */
	f = flow_open();
	feed_str(f, DIR_CLIENT,
	         "POST /x HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n"
	         "\r\n123456GET /y HTTP/1.1\r\n\r\n");
	text = render(f);
	assert_int_equal(session_counter_value(f->s, "http.bad_content_length"), 1);
	assert_contains(text, "\"uri\":\"/x\"");
	assert_lacks(text, "\"uri\":\"/y\""); /* its line began inside the body */
	free(text);
	flow_close(f);

	/* an equal list is one length (RFC 9110 8.6) */
	text = exchange("POST /x HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc",
	                "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_contains(text, "\"request_body_len\":3");
	free(text);
}

static void test_wire_strings_kept_raw(void **unused)
{
	(void)unused;
	struct flow *f = flow_open();
	feed(f, DIR_CLIENT, "GET /\"q\\\x01\xff HTTP/1.1\r\nHost: \te\x00x \r\n\r\n", 36);
	char *text = render(f);
	assert_contains(text, "\"host\":\"e\\u0000x\"");
	assert_contains(text, "\"uri\":\"/\\\"q\\\\\\u0001\\\\xff\"");
	free(text);
	flow_close(f);
}

static void test_release_of_empty_state(void **unused)
{
	(void)unused;
	struct flow *f = flow_open();
	end(f);
	char *text = render(f);
	assert_string_equal(text, "{\"requests\":[]}");
	free(text);
	flow_close(f);
	assert_non_null(dissector_by_name("http"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_probe),
	    cmocka_unit_test(test_simple_get),
	    cmocka_unit_test(test_summary),
	    cmocka_unit_test(test_keepalive_content_length),
	    cmocka_unit_test(test_pipelined),
	    cmocka_unit_test(test_chunked),
	    cmocka_unit_test(test_bad_chunk_size),
	    cmocka_unit_test(test_head_response_has_no_body),
	    cmocka_unit_test(test_100_continue),
	    cmocka_unit_test(test_204_and_304),
	    cmocka_unit_test(test_read_until_close),
	    cmocka_unit_test(test_request_without_length_has_no_body),
	    cmocka_unit_test(test_connect),
	    cmocka_unit_test(test_connect_refused),
	    cmocka_unit_test(test_websocket_upgrade),
	    cmocka_unit_test(test_upgrade_declined),
	    cmocka_unit_test(test_response_first),
	    cmocka_unit_test(test_gap_inside_body),
	    cmocka_unit_test(test_gap_past_body_resyncs),
	    cmocka_unit_test(test_gap_inside_headers),
	    cmocka_unit_test(test_every_truncation_point),
	    cmocka_unit_test(test_header_too_long),
	    cmocka_unit_test(test_too_many_headers),
	    cmocka_unit_test(test_transaction_cap),
	    cmocka_unit_test(test_interim_cap),
	    cmocka_unit_test(test_deep_pipeline),
	    cmocka_unit_test(test_malformed_resyncs),
	    cmocka_unit_test(test_wire_strings_kept_raw),
	    cmocka_unit_test(test_release_of_empty_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

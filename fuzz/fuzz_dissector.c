/* libFuzzer harness for one dissector (FUZZ_DISSECTOR names it: one binary
 * per dissector, all from this file).
 *
 * The input is a script of chunks: each starts with two bytes, the top bit
 * of the first saying which side sent it and the other 15 bits its length.
 * Over TCP (when the dissector takes TCP, and the script's first byte is
 * even or it takes only TCP) the chunks are a stream fed the way the core
 * feeds it: what on_data does not consume is kept and handed back with the
 * next bytes (capped as the core caps it); handoffs go to the named
 * dissector as in the core.  Over UDP every chunk is a datagram.  At the end
 * the record is emitted to a JSON writer and summarised, so the emit and
 * summary paths see every state too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "portolan/dissector.h"
#include "portolan/json.h"
#include "portolan/session.h"

#ifndef FUZZ_DISSECTOR
#error "build with -DFUZZ_DISSECTOR=\"name\""
#endif

#define PENDING_CAP (256u * 1024)

struct feed {
	const struct dissector *d;
	void *state;
	uint8_t *pending[2];
	size_t len[2];
};

static void *new_state(const struct dissector *d)
{
	return calloc(1, d->state_size ? d->state_size : 1);
}

static void switch_on_handoff(struct feed *f, struct session *s)
{
	const char *to = session_handoff_target(s);
	if (!to || !strcmp(to, f->d->name))
		return;
	const struct dissector *next = dissector_by_name(to);
	if (!next || next == f->d)
		return;
	/* the outer dissector keeps its state for the record, as in the core;
	 * here we only follow the bytes */
	if (f->d->release)
		f->d->release(f->state);
	free(f->state);
	f->d = next;
	f->state = new_state(next);
}

static void feed_stream(struct feed *f, struct session *s, enum direction dir, const uint8_t *data,
                        size_t n)
{
	if (f->len[dir] + n > PENDING_CAP) {
		if (f->d->on_gap)
			f->d->on_gap(s, f->state, dir, f->len[dir] + n);
		f->len[dir] = 0;
		return;
	}
	uint8_t *grown = realloc(f->pending[dir], f->len[dir] + n + 1);
	if (!grown)
		return;
	f->pending[dir] = grown;
	memcpy(grown + f->len[dir], data, n);
	f->len[dir] += n;
	for (int round = 0; round < 4 && f->len[dir]; round++) {
		const struct dissector *before = f->d;
		if (!f->d->on_data)
			break;
		size_t used =
		    f->d->on_data(s, f->state, dir, rd_init(f->pending[dir], f->len[dir]));
		if (used > f->len[dir])
			abort(); /* a dissector claimed bytes it was not given */
		memmove(f->pending[dir], f->pending[dir] + used, f->len[dir] - used);
		f->len[dir] -= used;
		switch_on_handoff(f, s);
		if (f->d == before)
			break;
	}
}

static void finish(struct feed *f, struct session *s)
{
	if (f->d->on_end)
		f->d->on_end(s, f->state);
	if (f->d->emit) {
		struct json_writer jw;
		json_writer_init(&jw, 1u << 20);
		emit_object_begin(&jw.e, NULL);
		f->d->emit(f->state, &jw.e);
		emit_object_end(&jw.e);
		json_writer_free(&jw);
	}
	if (f->d->summarize) {
		char buf[256];
		f->d->summarize(f->state, buf, sizeof buf);
	}
	if (f->d->protocol_name)
		(void)f->d->protocol_name(f->state);
	if (f->d->release)
		f->d->release(f->state);
	free(f->state);
	free(f->pending[0]);
	free(f->pending[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct dissector *d = dissector_by_name(FUZZ_DISSECTOR);
	if (!d || size < 1)
		return 0;
	bool can_tcp = d->transports & TRANSPORT_BIT_TCP,
	     can_udp = d->transports & TRANSPORT_BIT_UDP;
	bool tcp = can_tcp && (!can_udp || !(data[0] & 1));
	struct ip_addr c = {.version = 4, .b = {10, 0, 0, 1}};
	struct ip_addr srv = {.version = 4, .b = {10, 0, 0, 2}};
	uint16_t port = d->ports && d->ports[0] ? d->ports[0] : 9999;
	struct session *s = session_detached_new(tcp, &c, 40000, &srv, port);
	if (!s)
		return 0;
	struct feed f = {.d = d, .state = new_state(d)};
	struct reader r = rd_init(data + 1, size - 1);
	bool first = true;
	while (rd_remaining(&r) >= 2 && f.state) {
		uint16_t h = rd_be16(&r);
		enum direction dir = (h & 0x8000) ? DIR_SERVER : DIR_CLIENT;
		size_t n = h & 0x7fff;
		if (n > rd_remaining(&r))
			n = rd_remaining(&r);
		const uint8_t *chunk = rd_take(&r, n);
		if (first && d->probe)
			(void)d->probe(rd_init(chunk, n), dir);
		first = false;
		if (tcp)
			feed_stream(&f, s, dir, chunk, n);
		else if (f.d->on_data)
			f.d->on_data(s, f.state, dir, rd_init(chunk, n));
	}
	if (f.state)
		finish(&f, s);
	session_detached_free(s);
	return 0;
}

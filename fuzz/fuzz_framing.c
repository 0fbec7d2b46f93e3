/* libFuzzer harness: the core's framers (lines; DNS-over-TCP and TPKT
 * PDUs), fed in pieces the way a stream arrives: each piece is appended to
 * what the framer left, as the core does.  The first byte picks the framer
 * and a small cap, so over-long lines and oversize PDUs are reached. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "portolan/framing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t frame_all(int kind, void *st, const uint8_t *buf, size_t len)
{
	struct reader r = rd_init(buf, len), out;
	for (int i = 0; i < 10000; i++) {
		enum frame_result fr;
		size_t before = rd_remaining(&r);
		if (kind == 0) {
			bool too_long;
			fr = line_next(st, &r, &out, &too_long);
		} else {
			fr = pdu_next(st, &r, kind == 1 ? pdu_length_dns_tcp : pdu_length_tpkt,
			              NULL, &out);
		}
		if (fr == FRAME_OK && rd_remaining(&out) > 0) {
			volatile uint8_t last = rd_take(&out, rd_remaining(&out))[0];
			(void)last;
		}
		if (fr != FRAME_OK && fr != FRAME_TOO_BIG)
			break;
		if (rd_remaining(&r) == before && fr != FRAME_OK)
			break;
	}
	return len - rd_remaining(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	int kind = data[0] % 3;
	struct line_state ls = {.max_line = 1 + (data[1] % 64)};
	struct pdu_state ps = {.max_pdu = 4 + (size_t)data[1] * 4};
	void *st = kind == 0 ? (void *)&ls : (void *)&ps;
	uint8_t *kept = NULL;
	size_t kept_len = 0;
	size_t pos = 2;
	while (pos < size) {
		size_t piece = 1 + data[pos] % 32;
		pos++;
		if (piece > size - pos)
			piece = size - pos;
		uint8_t *grown = realloc(kept, kept_len + piece + 1);
		if (!grown)
			break;
		kept = grown;
		memcpy(kept + kept_len, data + pos, piece);
		kept_len += piece;
		pos += piece;
		size_t used = frame_all(kind, st, kept, kept_len);
		if (used > kept_len)
			abort();
		memmove(kept, kept + used, kept_len - used);
		kept_len -= used;
	}
	free(kept);
	return 0;
}

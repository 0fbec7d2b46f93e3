/* libFuzzer harness: the BER reader, walked to full depth the way the
 * ASN.1 dissectors walk it (tags, lengths, integers, OIDs). */
#include <stdint.h>
#include <stdlib.h>

#include "portolan/ber.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(struct reader r, int depth)
{
	struct ber_tlv t;
	while (ber_next(&r, &t)) {
		if (t.constructed && depth < BER_MAX_DEPTH) {
			walk(t.value, depth + 1);
			continue;
		}
		int64_t v;
		char oid[128];
		if (ber_is(&t, BER_CLASS_UNIVERSAL, false, BER_TAG_INTEGER))
			(void)ber_int64(t.value, &v);
		if (ber_is(&t, BER_CLASS_UNIVERSAL, false, BER_TAG_OID)) {
			bool cut;
			(void)ber_oid_text(t.value, oid, sizeof oid, &cut);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	walk(rd_init(data, size), 0);
	return 0;
}

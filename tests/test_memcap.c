/* --memcap: parsing sizes and deriving every cap from the budget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "portolan/memcap.h"

static void test_parse(void **unused)
{
	(void)unused;
	uint64_t v = 0;
	assert_true(memcap_parse("512M", &v));
	assert_int_equal(v, 512ull << 20);
	assert_true(memcap_parse("2G", &v));
	assert_int_equal(v, 2ull << 30);
	assert_true(memcap_parse("100k", &v));
	assert_int_equal(v, 100ull << 10);
	assert_true(memcap_parse("65536", &v));
	assert_int_equal(v, 65536);
	assert_true(memcap_parse("1MiB", &v));
	assert_int_equal(v, 1ull << 20);
	assert_true(memcap_parse("1MB", &v));
	assert_false(memcap_parse("", &v));
	assert_false(memcap_parse("M", &v));
	assert_false(memcap_parse("-1M", &v));
	assert_false(memcap_parse("12X", &v));
	assert_false(memcap_parse("1Mx", &v));
	assert_false(memcap_parse("99999999999999999999", &v));
	assert_false(memcap_parse("2000G", &v)); /* above MEMCAP_MAX (1 TiB) */
}

static void test_default_split(void **unused)
{
	(void)unused;
	struct pipeline_config cfg;
	pipeline_config_default(&cfg);
	memcap_apply(&cfg, MEMCAP_DEFAULT);
	assert_int_equal(cfg.flow.max_flows, 27306);
	assert_int_equal(cfg.stream.nids_streams, 16384);
	assert_int_equal(cfg.stream.max_bytes_total, 64u << 20);
	assert_int_equal(cfg.stream.reasm.max_buffered, 1u << 20);
	assert_int_equal(cfg.defrag.max_bytes, 16u << 20);
	assert_int_equal(cfg.defrag.max_datagrams, 4096);
	assert_int_equal(cfg.dissect.pending_total_cap, 32u << 20);
}

/* The derived parts never add up to more than the budget, at any size. */
static void test_within_budget(void **unused)
{
	(void)unused;
	for (uint64_t m = MEMCAP_MIN; m <= MEMCAP_MAX; m *= 2) {
		struct pipeline_config cfg;
		pipeline_config_default(&cfg);
		memcap_apply(&cfg, m);
		uint64_t used = (uint64_t)cfg.flow.max_flows * MEMCAP_FLOW_COST +
		                (uint64_t)cfg.stream.nids_streams * 288 +
		                cfg.stream.max_bytes_total + cfg.defrag.max_bytes +
		                cfg.dissect.pending_total_cap;
		assert_true(used < m);
		assert_true(cfg.flow.max_flows >= 64);
		assert_true(cfg.stream.nids_streams >= 16);
		assert_true(cfg.stream.reasm.max_buffered <= cfg.stream.max_bytes_total);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_default_split),
	    cmocka_unit_test(test_within_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

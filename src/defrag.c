/* IPv4 and IPv6 fragment reassembly.
 *
 * Each datagram in progress keeps its payload as a list of pieces sorted by
 * offset that never overlap: a fragment only fills the gaps between what is
 * already held (first copy wins), and whatever it overlapped is compared and
 * counted.  RFC 5722 tells an IPv6 host to drop such datagrams and modern
 * stacks do the same for IPv4; a passive monitor cannot know what the
 * receiver did, so it keeps the first copy, as the most permissive hosts do,
 * and the counters make the overlap visible.
 *
 * The same rule settles the datagram's length: the first last fragment
 * (MF clear) fixes it, and bytes any fragment holds past it are dropped, as
 * Wireshark does ("fragment too long"); a non-last fragment whose length is
 * not a multiple of 8 is cut down to one, as Linux does for IPv4.  Each
 * such fragment is counted as malformed, and what remains of it is used.
 *
 * Datagrams also sit on an age list in order of creation: the timeout and
 * every cap drop from its old end.  Time is packet time only.
 */
#include "portolan/defrag.h"

#include <stdlib.h>
#include <string.h>

#include "portolan/reader.h"

#define IPV4_MIN_HEADER 20
#define IPV6_HEADER 40
#define IP_MAX_LENGTH 65535
/* The largest datagram either version can describe: IPv6 counts its 40-byte
 * header outside the 16-bit payload length. */
#define DEFRAG_MAX_OUTPUT (IPV6_HEADER + IP_MAX_LENGTH)

#define DEFRAG_DEFAULT_TIMEOUT (30 * USEC_PER_SEC)
#define DEFRAG_DEFAULT_MAX_BYTES (16u << 20)
#define DEFRAG_DEFAULT_MAX_DATAGRAMS 4096
/* A 64 KiB datagram needs 45 fragments at an Ethernet MTU and about 120 at
 * the 576 bytes every IPv4 host must accept; robustness captures carry
 * hundreds of tiny ones that tshark still rebuilds.  The cap bounds the work
 * of the sorted insert (quadratic in the count), not memory: the byte caps
 * do that. */
#define DEFRAG_DEFAULT_MAX_FRAGMENTS 1024
#define DEFRAG_MIN_BUCKETS 16
#define DEFRAG_MAX_BUCKETS 65536

/* Part of a datagram's payload, at offset bytes from its start. */
struct piece {
	struct piece *next;
	uint32_t offset;
	uint32_t len;  /* bytes of the datagram it holds */
	uint32_t size; /* bytes allocated for data (len may shrink, never grows) */
	uint8_t data[];
};

/* The part of a fragment's payload, [start, end) in datagram offsets, that
 * is still to be used once the datagram's own rules are applied. */
struct span {
	uint32_t start, end;
};

/* RFC 791 keys IPv4 datagrams by protocol too.  RFC 8200 keys IPv6 ones by
 * addresses and id only, and lets the fragment headers of one datagram name
 * different next headers (only the first fragment's counts): so for IPv6
 * proto stays 0. */
struct datagram_key {
	uint8_t version;
	uint8_t proto;
	uint32_t id;
	uint8_t src[16];
	uint8_t dst[16];
};

struct datagram {
	struct datagram *hash_next;
	struct datagram *older, *newer; /* the age list, in order of creation */
	struct datagram_key key;
	usec_t first_ts;
	struct piece *pieces; /* sorted by offset, never overlapping */
	size_t covered;       /* payload bytes in pieces */
	uint32_t max_end;     /* end of the furthest piece */
	uint32_t end;         /* payload length, known once the last fragment came */
	bool have_end;
	unsigned n_fragments; /* fragments seen, duplicates included */
	/* From the offset-0 fragment: the IPv4 header, or the IPv6 header and
	 * the extensions before the fragment header. */
	uint8_t *header;
	size_t header_len;
	size_t nh_offset;    /* IPv6: the byte that named the fragment header */
	uint8_t next_header; /* IPv6: what the fragment header said came next */
	size_t mem;          /* memory held, bookkeeping included */
};

struct defrag {
	struct defrag_config cfg;
	struct defrag_stats stats;
	struct datagram **buckets;
	size_t n_buckets; /* a power of two */
	struct datagram *oldest, *newest;
	size_t n_datagrams;
	size_t bytes_held;
	uint8_t out[DEFRAG_MAX_OUTPUT]; /* the last datagram rebuilt */
};

void defrag_config_default(struct defrag_config *cfg)
{
	cfg->timeout = DEFRAG_DEFAULT_TIMEOUT;
	cfg->max_datagram = DEFRAG_MAX_OUTPUT;
	cfg->max_bytes = DEFRAG_DEFAULT_MAX_BYTES;
	cfg->max_datagrams = DEFRAG_DEFAULT_MAX_DATAGRAMS;
	cfg->max_fragments = DEFRAG_DEFAULT_MAX_FRAGMENTS;
}

/* A zero in cfg means "the default" for that field. */
static void config_fill_defaults(struct defrag_config *cfg)
{
	struct defrag_config def;
	defrag_config_default(&def);
	if (!cfg->timeout)
		cfg->timeout = def.timeout;
	if (!cfg->max_datagram)
		cfg->max_datagram = def.max_datagram;
	if (!cfg->max_bytes)
		cfg->max_bytes = def.max_bytes;
	if (!cfg->max_datagrams)
		cfg->max_datagrams = def.max_datagrams;
	if (!cfg->max_fragments)
		cfg->max_fragments = def.max_fragments;
}

struct defrag *defrag_new(const struct defrag_config *cfg)
{
	struct defrag *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	if (cfg)
		d->cfg = *cfg;
	config_fill_defaults(&d->cfg);
	d->n_buckets = DEFRAG_MIN_BUCKETS;
	while (d->n_buckets < d->cfg.max_datagrams && d->n_buckets < DEFRAG_MAX_BUCKETS)
		d->n_buckets *= 2;
	d->buckets = calloc(d->n_buckets, sizeof(*d->buckets));
	if (!d->buckets) {
		free(d);
		return NULL;
	}
	return d;
}

const struct defrag_stats *defrag_stats(const struct defrag *d)
{
	return &d->stats;
}

size_t defrag_bytes_held(const struct defrag *d)
{
	return d->bytes_held;
}

/* ---- the table ---------------------------------------------------------- */

static void key_from_packet(struct datagram_key *k, const struct packet *p)
{
	memset(k, 0, sizeof(*k));
	k->version = p->ip_version;
	k->proto = p->ip_version == 4 ? p->frag_next_header : 0;
	k->id = p->frag_id;
	memcpy(k->src, p->src.b, sizeof(k->src));
	memcpy(k->dst, p->dst.b, sizeof(k->dst));
}

static bool key_equal(const struct datagram_key *a, const struct datagram_key *b)
{
	return a->version == b->version && a->proto == b->proto && a->id == b->id &&
	       memcmp(a->src, b->src, sizeof(a->src)) == 0 &&
	       memcmp(a->dst, b->dst, sizeof(a->dst)) == 0;
}

/* FNV-1a over the key's fields. */
static size_t key_bucket(const struct defrag *d, const struct datagram_key *k)
{
	uint8_t bytes[2 + 4 + 16 + 16];
	bytes[0] = k->version;
	bytes[1] = k->proto;
	memcpy(bytes + 2, &k->id, 4);
	memcpy(bytes + 6, k->src, 16);
	memcpy(bytes + 22, k->dst, 16);

	uint32_t h = 2166136261u;
	for (size_t i = 0; i < sizeof(bytes); i++)
		h = (h ^ bytes[i]) * 16777619u;
	return h & (d->n_buckets - 1);
}

static struct datagram *datagram_find(const struct defrag *d, const struct datagram_key *k)
{
	for (struct datagram *dg = d->buckets[key_bucket(d, k)]; dg; dg = dg->hash_next)
		if (key_equal(&dg->key, k))
			return dg;
	return NULL;
}

static void hold(struct defrag *d, struct datagram *dg, size_t bytes)
{
	dg->mem += bytes;
	d->bytes_held += bytes;
}

static void datagram_unlink(struct defrag *d, struct datagram *dg)
{
	struct datagram **link = &d->buckets[key_bucket(d, &dg->key)];
	while (*link != dg)
		link = &(*link)->hash_next;
	*link = dg->hash_next;

	if (dg->older)
		dg->older->newer = dg->newer;
	else
		d->oldest = dg->newer;
	if (dg->newer)
		dg->newer->older = dg->older;
	else
		d->newest = dg->older;
}

static void datagram_drop(struct defrag *d, struct datagram *dg)
{
	datagram_unlink(d, dg);
	for (struct piece *pc = dg->pieces, *next; pc; pc = next) {
		next = pc->next;
		free(pc);
	}
	free(dg->header);
	d->bytes_held -= dg->mem;
	d->n_datagrams--;
	free(dg);
}

static struct datagram *datagram_create(struct defrag *d, const struct datagram_key *k, usec_t ts)
{
	if (d->n_datagrams >= d->cfg.max_datagrams && d->oldest) {
		datagram_drop(d, d->oldest);
		d->stats.dropped_cap++;
	}
	struct datagram *dg = calloc(1, sizeof(*dg));
	if (!dg)
		return NULL;
	dg->key = *k;
	dg->first_ts = ts;
	size_t b = key_bucket(d, k);
	dg->hash_next = d->buckets[b];
	d->buckets[b] = dg;
	dg->older = d->newest;
	if (d->newest)
		d->newest->newer = dg;
	else
		d->oldest = dg;
	d->newest = dg;
	d->n_datagrams++;
	hold(d, dg, sizeof(*dg));
	return dg;
}

void defrag_expire(struct defrag *d, usec_t now)
{
	/* Creation order is time order unless the capture's clock steps back;
	 * then a datagram may wait a little longer than the timeout. */
	while (d->oldest && now > d->oldest->first_ts &&
	       now - d->oldest->first_ts > d->cfg.timeout) {
		datagram_drop(d, d->oldest);
		d->stats.timeouts++;
	}
}

void defrag_free(struct defrag *d)
{
	if (!d)
		return;
	while (d->oldest)
		datagram_drop(d, d->oldest);
	free(d->buckets);
	free(d);
}

/* ---- adding a fragment -------------------------------------------------- */

/* n bytes of the fragment's payload from offset from, bounds-checked. */
static const uint8_t *fragment_bytes(const struct packet *p, size_t from, size_t n)
{
	struct reader r = rd_init(p->frag_data, p->frag_len);
	rd_skip(&r, from);
	return rd_take(&r, n);
}

/* Checks what a fragment says about itself; counts what is wrong. */
static bool fragment_is_sane(struct defrag *d, const struct packet *p)
{
	if (p->snap_truncated) {
		d->stats.truncated++;
		return false;
	}
	bool ok = (p->ip_version == 4 || p->ip_version == 6) && p->frag_data && p->ip_start &&
	          p->frag_len > 0 && p->frag_offset + p->frag_len <= IP_MAX_LENGTH;
	if (!ok)
		d->stats.malformed++;
	return ok;
}

/* The fragment's payload as a span; false when a fragment that is not the
 * last had to be cut to a multiple of 8. */
static bool fragment_span(const struct packet *p, struct span *sp)
{
	uint32_t len = (uint32_t)p->frag_len;
	bool whole = !p->frag_more || len % 8 == 0;
	if (!whole)
		len -= len % 8;
	sp->start = p->frag_offset;
	sp->end = p->frag_offset + len;
	return whole;
}

static void release(struct defrag *d, struct datagram *dg, size_t bytes)
{
	dg->mem -= bytes;
	d->bytes_held -= bytes;
}

/* Drops what the pieces hold at or past end. */
static void trim_pieces(struct defrag *d, struct datagram *dg, uint32_t end)
{
	struct piece **link = &dg->pieces;
	while (*link) {
		struct piece *pc = *link;
		if (pc->offset >= end) {
			*link = pc->next;
			dg->covered -= pc->len;
			release(d, dg, sizeof(*pc) + pc->size);
			free(pc);
			continue;
		}
		if (pc->offset + pc->len > end) {
			dg->covered -= pc->offset + pc->len - end;
			pc->len = end - pc->offset;
		}
		link = &pc->next;
	}
	if (dg->max_end > end)
		dg->max_end = end;
}

/* Applies what the fragment says about the datagram's length, and clips the
 * span to it.  False when the fragment disagrees with what is held. */
static bool settle_end(struct defrag *d, struct datagram *dg, const struct packet *p,
                       struct span *sp)
{
	bool agrees = true;
	if (!p->frag_more) {
		uint32_t claimed = p->frag_offset + (uint32_t)p->frag_len;
		if (!dg->have_end) {
			dg->have_end = true;
			dg->end = claimed;
			agrees = dg->max_end <= claimed;
			trim_pieces(d, dg, claimed);
		} else {
			agrees = claimed == dg->end;
		}
	}
	if (dg->have_end && sp->end > dg->end) {
		sp->end = dg->end;
		agrees = false;
	}
	if (sp->start > sp->end)
		sp->start = sp->end;
	return agrees;
}

static struct piece *piece_new(struct defrag *d, struct datagram *dg, const struct packet *p,
                               uint32_t offset, uint32_t len)
{
	const uint8_t *src = fragment_bytes(p, offset - p->frag_offset, len);
	struct piece *pc = src ? malloc(sizeof(*pc) + len) : NULL;
	if (!pc)
		return NULL;
	pc->next = NULL;
	pc->offset = offset;
	pc->len = len;
	pc->size = len;
	memcpy(pc->data, src, len);
	hold(d, dg, sizeof(*pc) + len);
	dg->covered += len;
	if (offset + len > dg->max_end)
		dg->max_end = offset + len;
	return pc;
}

/* Fills the gaps the span covers with the fragment's bytes; compares what
 * it overlaps.  Returns false when memory ran out. */
static bool fragment_insert(struct defrag *d, struct datagram *dg, const struct packet *p,
                            struct span sp)
{
	uint32_t cursor = sp.start;
	uint32_t end = sp.end;
	struct piece **link = &dg->pieces;
	bool overlapped = false, differing = false;

	while (cursor < end) {
		struct piece *cur = *link;
		if (cur && cur->offset + cur->len <= cursor) { /* wholly before */
			link = &cur->next;
			continue;
		}
		uint32_t gap_end = cur && cur->offset < end ? cur->offset : end;
		if (cursor < gap_end) {
			struct piece *pc = piece_new(d, dg, p, cursor, gap_end - cursor);
			if (!pc)
				return false;
			pc->next = cur;
			*link = pc;
			link = &pc->next;
			cursor = gap_end;
			continue;
		}
		/* cur holds [cur->offset, ...) with cur->offset <= cursor */
		uint32_t overlap_end = cur->offset + cur->len < end ? cur->offset + cur->len : end;
		const uint8_t *mine =
		    fragment_bytes(p, cursor - p->frag_offset, overlap_end - cursor);
		overlapped = true;
		if (!mine || memcmp(cur->data + (cursor - cur->offset), mine, overlap_end - cursor))
			differing = true;
		cursor = overlap_end;
		link = &cur->next;
	}
	if (overlapped)
		d->stats.overlaps++;
	if (differing)
		d->stats.overlaps_differing++;
	return true;
}

/* Keeps the headers of the offset-0 fragment, which the rebuilt datagram
 * starts with.  False when they cannot be right. */
static bool keep_header(struct defrag *d, struct datagram *dg, const struct packet *p)
{
	size_t len = p->ip_version == 4 ? p->ip_header_len : p->frag_unfrag_len;
	size_t min = p->ip_version == 4 ? IPV4_MIN_HEADER : IPV6_HEADER;
	struct reader r = rd_init(p->ip_start, p->ip_len);
	const uint8_t *src = rd_take(&r, len);

	if (!src || len < min || (p->ip_version == 6 && p->frag_nh_offset >= len))
		return false;
	dg->header = malloc(len);
	if (!dg->header)
		return false;
	memcpy(dg->header, src, len);
	dg->header_len = len;
	dg->nh_offset = p->frag_nh_offset;
	dg->next_header = p->frag_next_header;
	hold(d, dg, len);
	return true;
}

/* Drops whatever the caps say must go; false when dg itself went. */
static bool enforce_caps(struct defrag *d, struct datagram *dg)
{
	if (dg->header_len + dg->covered > d->cfg.max_datagram) {
		datagram_drop(d, dg);
		d->stats.dropped_cap++;
		return false;
	}
	while (d->bytes_held > d->cfg.max_bytes) {
		struct datagram *victim = d->oldest != dg ? d->oldest : dg->newer;
		if (!victim)
			victim = dg;
		datagram_drop(d, victim);
		d->stats.dropped_cap++;
		if (victim == dg)
			return false;
	}
	return true;
}

static bool datagram_complete(const struct datagram *dg)
{
	return dg->header && dg->have_end && dg->covered == dg->end;
}

static void put_be16(uint8_t *at, size_t value)
{
	at[0] = (uint8_t)(value >> 8);
	at[1] = (uint8_t)value;
}

/* Writes the datagram into d->out; returns its length, 0 when it cannot be
 * described by its own header (longer than 16 bits allow). */
static size_t datagram_rebuild(struct defrag *d, const struct datagram *dg)
{
	size_t total = dg->header_len + dg->end;
	if (dg->key.version == 4 ? total > IP_MAX_LENGTH : total - IPV6_HEADER > IP_MAX_LENGTH)
		return 0;
	memcpy(d->out, dg->header, dg->header_len);
	for (const struct piece *pc = dg->pieces; pc; pc = pc->next)
		memcpy(d->out + dg->header_len + pc->offset, pc->data, pc->len);

	if (dg->key.version == 4) {
		put_be16(d->out + 2, total);
		d->out[6] &= 0xc0; /* keep DF and the reserved bit, clear MF and the offset */
		d->out[7] = 0;
		put_be16(d->out + 10, 0);
		uint16_t sum = inet_checksum_finish(inet_checksum_add(0, d->out, dg->header_len));
		put_be16(d->out + 10, (uint16_t)~sum);
	} else {
		put_be16(d->out + 4, total - IPV6_HEADER);
		d->out[dg->nh_offset] = dg->next_header;
	}
	return total;
}

const uint8_t *defrag_add(struct defrag *d, const struct packet *p, size_t *len)
{
	*len = 0;
	defrag_expire(d, p->ts);
	d->stats.fragments++;
	if (!fragment_is_sane(d, p))
		return NULL;
	struct span sp;
	bool well_formed = fragment_span(p, &sp);

	struct datagram_key key;
	key_from_packet(&key, p);
	struct datagram *dg = datagram_find(d, &key);
	if (!dg)
		dg = datagram_create(d, &key, p->ts);
	if (!dg)
		return NULL;
	if (++dg->n_fragments > d->cfg.max_fragments) {
		datagram_drop(d, dg);
		d->stats.dropped_cap++;
		return NULL;
	}
	if (!settle_end(d, dg, p, &sp))
		well_formed = false;
	if (p->frag_offset == 0 && !dg->header && !keep_header(d, dg, p))
		well_formed = false; /* and the datagram waits for a better first fragment */
	if (!well_formed)
		d->stats.malformed++;
	if (!fragment_insert(d, dg, p, sp)) {
		datagram_drop(d, dg); /* out of memory: the datagram cannot complete */
		d->stats.dropped_cap++;
		return NULL;
	}
	if (!enforce_caps(d, dg) || !datagram_complete(dg))
		return NULL;

	size_t total = datagram_rebuild(d, dg);
	datagram_drop(d, dg);
	if (!total) {
		d->stats.malformed++;
		return NULL;
	}
	d->stats.reassembled++;
	*len = total;
	return d->out;
}

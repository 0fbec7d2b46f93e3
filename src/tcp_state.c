/* Zeek's TCP endpoint state machine and history letters.
 *
 * conn_state and history in our records mean exactly what they mean in
 * Zeek's conn.log, so this file follows the rules of Zeek's TCP analyzer
 * (src/analyzer/protocol/tcp/TCP.cc: update_history, init_endpoint,
 * update_last_seq and the Update*State functions), read, not copied:
 *
 *  - Each endpoint is INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL (first seen
 *    without a SYN), ESTABLISHED, CLOSED (sent a FIN) or RESET (sent a RST).
 *  - History letters, upper case for the originator (our client), lower for
 *    the responder: S a SYN without ACK, H a SYN-ACK, A a pure ACK, D a
 *    packet with payload, F a FIN, R a RST, Q a packet with SYN+FIN or
 *    SYN+RST, I one with FIN+RST, T a retransmission, W a zero window, G a
 *    content gap, ^ roles flipped.  Each letter appears once per direction,
 *    except: S/H/F/R again when a later one has a different sequence number,
 *    and T, W, G (and Zeek's C) again each time their count reaches 10, 100,
 *    1000...  A packet with exactly one of SYN/FIN/RST records only that
 *    letter, even when it carries data.
 *  - Checksums are not verified (like `zeek -C`): captures taken on the
 *    sending host carry offloaded, wrong checksums, so no 'C' letters.
 */
#include "portolan/flow.h"

/* A jump this large in an ACK of 0 is more likely a broken ACK than a wrap
 * (Zeek's TOO_LARGE_SEQ_DELTA). */
#define TOO_LARGE_SEQ_DELTA 1048576

static int32_t seq_delta(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

static void set_state(struct tcp_endpoint *ep, enum endpoint_state s)
{
	ep->prev_state = ep->state;
	ep->state = (uint8_t)s;
}

/* Starts the endpoint's sequence numbering at isn (the SYN's sequence
 * number, or one before the first byte of a partial flow). */
static void init_sequence(struct tcp_endpoint *ep, uint32_t isn, uint32_t last)
{
	ep->seq_init = true;
	ep->start_seq = isn;
	ep->ack_seq = isn;
	ep->last_seq = last;
	ep->ack_rel = 0;
	ep->last_rel = (uint64_t)(uint32_t)seq_delta(last, isn);
}

static void init_endpoint(struct tcp_endpoint *ep, uint8_t flags, uint32_t seq, uint32_t seq_end)
{
	bool syn = flags & TCP_SYN;

	switch (ep->state) {
	case EP_INACTIVE:
		if (syn)
			init_sequence(ep, seq, seq_end);
		else
			/* partial: as though a SYN came just before, and the
			 * first packet is not a duplicate */
			init_sequence(ep, seq - 1, seq);
		break;
	case EP_SYN_SENT:
	case EP_SYN_ACK_SENT:
		if (syn && seq != ep->start_seq)
			init_sequence(ep, seq, seq_end);
		break;
	case EP_ESTABLISHED:
	case EP_PARTIAL:
		if (syn)
			init_sequence(ep, seq, seq_end);
		break;
	case EP_RESET:
		if (syn && ep->prev_state == EP_INACTIVE)
			init_sequence(ep, seq, seq_end);
		break;
	default:
		break;
	}
}

/* The position of seq relative to the endpoint's ISN (negative when it lies
 * before it). */
static int64_t relative_seq(const struct tcp_endpoint *ep, uint32_t seq)
{
	return (int64_t)ep->last_rel + seq_delta(seq, ep->last_seq);
}

/* S, H, F and R are recorded again when a later one carries a different
 * sequence number (a new attempt rather than a retransmission). */
static void history_repeatable(struct flow *f, enum direction dir, char letter, uint32_t *last,
                               int64_t rel)
{
	if (flow_history_check(f, dir, letter) && (uint32_t)rel != *last)
		flow_history_add(f, dir, letter);
	*last = (uint32_t)rel;
}

static void update_history(struct flow *f, enum direction dir, struct tcp_endpoint *ep,
                           uint8_t flags, int64_t rel_seq, size_t len)
{
	int control = !!(flags & TCP_SYN) + !!(flags & TCP_FIN) + !!(flags & TCP_RST);

	if (control > 1) {
		if ((flags & TCP_FIN) && (flags & TCP_RST))
			flow_history_check(f, dir, 'I');
		else
			flow_history_check(f, dir, 'Q');
	} else if (control == 1) {
		if (flags & TCP_SYN)
			history_repeatable(f, dir, (flags & TCP_ACK) ? 'H' : 'S',
			                   &ep->hist_last_syn, rel_seq);
		if (flags & TCP_FIN) /* a FIN's sequence number is after its data */
			history_repeatable(f, dir, 'F', &ep->hist_last_fin, rel_seq + (int64_t)len);
		if (flags & TCP_RST)
			history_repeatable(f, dir, 'R', &ep->hist_last_rst, rel_seq);
	} else if (len) {
		flow_history_check(f, dir, 'D');
	} else if (flags & TCP_ACK) {
		flow_history_check(f, dir, 'A');
	}
}

/* Zero windows are only interesting from a live endpoint whose peer has
 * not closed (Zeek's update_window). */
static void check_zero_window(struct flow *f, enum direction dir, const struct packet *p)
{
	struct tcp_endpoint *ep = &f->ep[dir], *peer = &f->ep[dir_other(dir)];

	if (p->window == 0 && !(p->tcp_flags & TCP_RST) && peer->state != EP_CLOSED &&
	    ep->state != EP_RESET)
		flow_history_scaled(f, dir, 'W', &ep->zero_win_count, &ep->zero_win_thresh);
}

static void update_ack(struct tcp_endpoint *peer, uint32_t ack)
{
	int32_t delta = seq_delta(ack, peer->ack_seq);

	if (ack == 0 && delta > TOO_LARGE_SEQ_DELTA)
		return;
	if (delta > 0) {
		peer->ack_seq = ack;
		peer->ack_rel += (uint64_t)delta;
		peer->ack_seen = true;
	}
}

/* Moves the endpoint's highest sequence; a payload that does not advance it
 * is a retransmission (Zeek's update_last_seq and DidRxmit). */
static void update_last_seq(struct flow *f, enum direction dir, uint32_t seq_end, uint8_t flags,
                            size_t len)
{
	struct tcp_endpoint *ep = &f->ep[dir];
	int32_t delta = seq_delta(seq_end, ep->last_seq);

	if ((flags & (TCP_SYN | TCP_RST)) &&
	    (delta > TOO_LARGE_SEQ_DELTA || delta < -TOO_LARGE_SEQ_DELTA))
		return;
	if ((flags & TCP_FIN) && ep->last_seq == ep->start_seq + 1) {
		/* only a SYN and a FIN seen: trust the FIN (Zeek's > 2 GB case) */
		ep->last_rel = (uint64_t)((int64_t)ep->last_rel + delta);
		ep->last_seq = seq_end;
	} else if (ep->state == EP_RESET) {
		return;
	} else if (delta > 0) {
		ep->last_rel += (uint64_t)delta;
		ep->last_seq = seq_end;
	} else if (len > 0) {
		flow_history_scaled(f, dir, 'T', &ep->rxmit_count, &ep->rxmit_thresh);
	}
}

static void inactive_state(struct flow *f, enum direction dir, uint8_t flags, size_t len)
{
	struct tcp_endpoint *ep = &f->ep[dir], *peer = &f->ep[dir_other(dir)];
	bool is_orig = dir == DIR_CLIENT;

	if (flags & TCP_SYN) {
		if (is_orig) {
			set_state(ep, (flags & TCP_ACK) ? EP_SYN_ACK_SENT : EP_SYN_SENT);
		} else {
			if (peer->state == EP_SYN_SENT)
				set_state(peer, EP_ESTABLISHED);
			set_state(ep, EP_ESTABLISHED);
		}
	}
	if (flags & TCP_FIN)
		set_state(ep, EP_CLOSED);
	if (flags & TCP_RST)
		set_state(ep, EP_RESET);

	if (ep->state != EP_INACTIVE)
		return;
	/* no control flag moved it */
	if (!is_orig && len == 0 && f->ep[DIR_CLIENT].state == EP_SYN_SENT)
		; /* some stacks ACK a SYN before answering it: not partial */
	else if ((flags & TCP_ACK) && peer->state == EP_ESTABLISHED)
		set_state(ep, EP_ESTABLISHED); /* we just missed its SYN */
	else
		set_state(ep, EP_PARTIAL);
}

static void established_state(struct flow *f, enum direction dir, uint8_t flags)
{
	struct tcp_endpoint *ep = &f->ep[dir], *peer = &f->ep[dir_other(dir)];

	if ((flags & TCP_SYN) && ep->state == EP_PARTIAL && peer->state == EP_INACTIVE &&
	    !(flags & TCP_ACK))
		set_state(ep, EP_SYN_SENT);
	if ((flags & TCP_FIN) && !(flags & TCP_RST)) {
		set_state(ep, EP_CLOSED);
		/* a FIN then a RST from the peer was a normal close after all */
		if (peer->state == EP_RESET && peer->prev_state == EP_CLOSED)
			set_state(peer, EP_CLOSED);
	}
	if (flags & TCP_RST)
		set_state(ep, EP_RESET);
}

static void run_state_machine(struct flow *f, enum direction dir, uint8_t flags, size_t len)
{
	struct tcp_endpoint *ep = &f->ep[dir], *peer = &f->ep[dir_other(dir)];

	switch (ep->state) {
	case EP_INACTIVE:
		inactive_state(f, dir, flags, len);
		break;
	case EP_SYN_SENT:
	case EP_SYN_ACK_SENT:
		if (flags & TCP_FIN)
			set_state(ep, EP_CLOSED);
		if (flags & TCP_RST)
			set_state(ep, EP_RESET);
		break;
	case EP_ESTABLISHED:
	case EP_PARTIAL:
		established_state(f, dir, flags);
		break;
	case EP_CLOSED:
		/* after a complete FIN exchange a RST changes nothing */
		if ((flags & TCP_RST) && peer->state != EP_CLOSED)
			set_state(ep, EP_RESET);
		break;
	default:
		break;
	}
}

/* Wireshark's initial RTT: the SYN to the client's ACK of the SYN-ACK. */
static void track_handshake_rtt(struct flow *f, enum direction dir, const struct packet *p)
{
	uint8_t fl = p->tcp_flags;

	if (dir == DIR_CLIENT && (fl & (TCP_SYN | TCP_ACK)) == TCP_SYN && !f->syn_ts)
		f->syn_ts = p->ts;
	else if (dir == DIR_SERVER && (fl & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK))
		f->synack_ts = p->ts;
	else if (dir == DIR_CLIENT && f->syn_ts && f->synack_ts && f->handshake_rtt_us < 0 &&
	         (fl & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_ACK &&
	         p->ack == f->ep[DIR_SERVER].start_seq + 1)
		f->handshake_rtt_us = (int64_t)(p->ts - f->syn_ts);
}

void tcp_state_update(struct flow *f, enum direction dir, const struct packet *p)
{
	struct tcp_endpoint *ep = &f->ep[dir], *peer = &f->ep[dir_other(dir)];
	uint8_t flags = p->tcp_flags;
	size_t len = p->payload_wire_len;
	uint32_t seg_len = (uint32_t)len + !!(flags & TCP_SYN) + !!(flags & TCP_FIN);

	if (flags & TCP_RST) /* a RST's data is not part of the stream */
		seg_len -= (uint32_t)len;
	uint32_t seq_end = p->seq + seg_len;

	init_endpoint(ep, flags, p->seq, seq_end);
	int64_t rel_seq = relative_seq(ep, p->seq);
	update_history(f, dir, ep, flags, rel_seq, len);
	check_zero_window(f, dir, p);

	if (flags & TCP_FIN)
		ep->fin_count++;
	if (flags & TCP_ACK) {
		if (peer->state == EP_INACTIVE)
			/* number the silent peer as if its SYN was acked here */
			init_sequence(peer, p->ack - 1, p->ack - 1);
		else if (!(flags & TCP_RST)) /* acks in RSTs are not trusted */
			update_ack(peer, p->ack);
	}
	update_last_seq(f, dir, seq_end, flags, len);
	run_state_machine(f, dir, flags, len);
	track_handshake_rtt(f, dir, p);
}

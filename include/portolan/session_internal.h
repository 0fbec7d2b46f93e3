/* The layout of struct session, for the core only (dissectors see the
 * opaque type of portolan/session.h). */
#ifndef PORTOLAN_SESSION_INTERNAL_H
#define PORTOLAN_SESSION_INTERNAL_H

#include "portolan/counters.h"
#include "portolan/flow.h"
#include "portolan/session.h"

struct dissector;
struct expect_table;
struct exchange_table;

/* Files e for the session's flow (dissect.c). */
bool expect_table_add(struct expect_table *t, const struct expectation *e,
                      const struct flow *parent, usec_t now);
bool expect_table_note(struct expect_table *t, const struct flow *parent,
                       const struct ip_addr *server, uint16_t port, const char *note);

struct session {
	struct flow *flow;
	struct counters *counters;
	usec_t now;
	bool show_credentials;
	/* the bytes being dissected were cut by the snaplen: a parse that runs
	 * off their end is "truncated", not "malformed" */
	bool input_truncated;
	bool detached; /* made by session_detached_new: owns flow and counters */
	/* set by session_handoff during an on_data call; the core acts on it */
	const struct dissector *handoff_to;
	/* where session_expect files expectations (NULL: a detached session,
	 * which keeps the last one for tests) */
	struct expect_table *expects;
	struct expectation last_expect;
	bool has_expect;
	/* the run's cross-flow records (NULL: none) */
	struct exchange_table *exchanges;
	char detached_note[EXPECT_NOTE_MAX];
};

#endif

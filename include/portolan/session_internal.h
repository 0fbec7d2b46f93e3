/* The layout of struct session, for the core only (dissectors see the
 * opaque type of portolan/session.h). */
#ifndef PORTOLAN_SESSION_INTERNAL_H
#define PORTOLAN_SESSION_INTERNAL_H

#include "portolan/counters.h"
#include "portolan/flow.h"
#include "portolan/session.h"

struct session {
	struct flow *flow;
	struct counters *counters;
	usec_t now;
	bool show_credentials;
	/* the bytes being dissected were cut by the snaplen: a parse that runs
	 * off their end is "truncated", not "malformed" */
	bool input_truncated;
	bool detached; /* made by session_detached_new: owns flow and counters */
};

#endif

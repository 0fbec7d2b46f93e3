/* Telnet (RFC 854, 855 and the option RFCs) over TCP.
 *
 * Telnet is not framed in lines on the wire: data bytes and IAC command
 * sequences interleave anywhere, a sub-negotiation (IAC SB ... IAC SE) may
 * span segments, and a login name is typed one character per segment.  So
 * each direction runs a small byte-level state machine over the reader and
 * always consumes everything it is given; what must survive a segment
 * boundary (a half-read command, the sub-negotiation so far, the line being
 * typed, the tail of the server's output) lives in the state, each capped.
 *
 * Logins are rebuilt the way Zeek's login analyzer does it: the client's
 * data bytes (outside IAC sequences; IAC IAC is a literal 0xff) make lines,
 * with BS and DEL (and IAC EC) erasing the last character, ^U and IAC EL the
 * line, and CR NUL, CR LF, a lone CR or LF ending it.  The last bytes of the
 * server's current output line are kept; when the client types the first
 * character of a line, a prompt at the end of them ("login:", "username:",
 * "password:" ... ignoring case and trailing blanks, and not already
 * answered) says what that line answers.  The server's echo of typed
 * characters is in the other direction and never reaches the line.  A
 * password is only flagged (cleartext-credentials) unless the user asked to
 * see credentials.  After a login answer the next few server lines are
 * checked for a failure message ("Login incorrect" ...), and a login prompt
 * right after a password counts as a failure too.  insecure-protocol is
 * raised with the first cleartext data byte of either side.
 *
 * ENCRYPT (RFC 2946): after a side sends SB ENCRYPT START its bytes are
 * ciphertext and are only counted.  START-TLS: when the client's SB
 * START-TLS FOLLOWS ends, the rest of the stream is TLS (handed off, or
 * marked "starttls" and skipped while no TLS dissector exists).
 */
#include <stdio.h>
#include <string.h>

#include "portolan/dissector.h"
#include "portolan/json.h"

/* Negotiation entries kept per flow; later ones count in "truncated". */
#define TELNET_MAX_NEGOTIATION 64
/* Distinct options listed. */
#define TELNET_MAX_OPTIONS 64
/* Bytes of a sub-negotiation kept (the rest is dropped, counted). */
#define TELNET_MAX_SB 128
/* Bytes of a typed client line kept (the rest of the line is dropped). */
#define TELNET_MAX_LINE 256
/* Bytes of the server's current output line kept (its last ones). */
#define TELNET_MAX_TAIL 64
/* Bytes kept of a user name, terminal type, display, speed, password. */
#define TELNET_MAX_STRING 64
/* Environment variable names listed, and bytes kept of each. */
#define TELNET_MAX_ENV 8
#define TELNET_MAX_ENV_NAME 24
/* Server lines after a login answer in which a failure is looked for. */
#define TELNET_RESULT_LINES 4

/* RFC 854 commands. */
enum {
	T_SE = 240,
	T_NOP = 241,
	T_DM = 242,
	T_BRK = 243,
	T_IP = 244,
	T_AO = 245,
	T_AYT = 246,
	T_EC = 247,
	T_EL = 248,
	T_GA = 249,
	T_SB = 250,
	T_WILL = 251,
	T_WONT = 252,
	T_DO = 253,
	T_DONT = 254,
	T_IAC = 255,
};

/* Options whose sub-negotiations are read. */
enum {
	OPT_TTYPE = 24,
	OPT_NAWS = 31,
	OPT_TSPEED = 32,
	OPT_LINEMODE = 34,
	OPT_XDISPLOC = 35,
	OPT_OLD_ENVIRON = 36,
	OPT_AUTHENTICATION = 37,
	OPT_ENCRYPT = 38,
	OPT_NEW_ENVIRON = 39,
	OPT_START_TLS = 46,
};

/* IANA "Telnet Options" registry. */
static const struct value_name telnet_options[] = {
    {0, "BINARY"},
    {1, "ECHO"},
    {2, "RCP"},
    {3, "SGA"},
    {4, "NAMS"},
    {5, "STATUS"},
    {6, "TIMING-MARK"},
    {7, "RCTE"},
    {8, "NAOL"},
    {9, "NAOP"},
    {10, "NAOCRD"},
    {11, "NAOHTS"},
    {12, "NAOHTD"},
    {13, "NAOFFD"},
    {14, "NAOVTS"},
    {15, "NAOVTD"},
    {16, "NAOLFD"},
    {17, "EXTEND-ASCII"},
    {18, "LOGOUT"},
    {19, "BM"},
    {20, "DET"},
    {21, "SUPDUP"},
    {22, "SUPDUP-OUTPUT"},
    {23, "SEND-LOCATION"},
    {24, "TTYPE"},
    {25, "EOR"},
    {26, "TUID"},
    {27, "OUTMRK"},
    {28, "TTYLOC"},
    {29, "3270-REGIME"},
    {30, "X.3-PAD"},
    {31, "NAWS"},
    {32, "TSPEED"},
    {33, "LFLOW"},
    {34, "LINEMODE"},
    {35, "XDISPLOC"},
    {36, "OLD-ENVIRON"},
    {37, "AUTHENTICATION"},
    {38, "ENCRYPT"},
    {39, "NEW-ENVIRON"},
    {40, "TN3270E"},
    {41, "XAUTH"},
    {42, "CHARSET"},
    {43, "RSP"},
    {44, "COM-PORT-OPTION"},
    {45, "SLE"},
    {46, "START-TLS"},
    {47, "KERMIT"},
    {48, "SEND-URL"},
    {49, "FORWARD-X"},
    {138, "PRAGMA-LOGON"},
    {139, "SSPI-LOGON"},
    {140, "PRAGMA-HEARTBEAT"},
    {255, "EXOPL"},
    {0, NULL},
};

/* Commands other than the option ones (RFC 854, RFC 885 EOR, RFC 1184). */
static const struct value_name telnet_commands[] = {
    {236, "EOF"},  {237, "SUSP"}, {238, "ABORT"}, {239, "EOR"},  {240, "SE"},
    {241, "NOP"},  {242, "DM"},   {243, "BRK"},   {244, "IP"},   {245, "AO"},
    {246, "AYT"},  {247, "EC"},   {248, "EL"},    {249, "GA"},   {250, "SB"},
    {251, "WILL"}, {252, "WONT"}, {253, "DO"},    {254, "DONT"}, {0, NULL},
};

/* The first byte of TTYPE, TSPEED, XDISPLOC and ENVIRON sub-negotiations. */
static const struct value_name sub_is_send[] = {{0, "IS"}, {1, "SEND"}, {2, "INFO"}, {0, NULL}};
static const struct value_name sub_auth[] = {
    {0, "IS"}, {1, "SEND"}, {2, "REPLY"}, {3, "NAME"}, {0, NULL}};
static const struct value_name sub_encrypt[] = {{0, "IS"},          {1, "SUPPORT"},
                                                {2, "REPLY"},       {3, "START"},
                                                {4, "END"},         {5, "REQUEST-START"},
                                                {6, "REQUEST-END"}, {7, "ENC_KEYID"},
                                                {8, "DEC_KEYID"},   {0, NULL}};
static const struct value_name sub_linemode[] = {{1, "MODE"},      {2, "FORWARDMASK"}, {3, "SLC"},
                                                 {T_WILL, "WILL"}, {T_WONT, "WONT"},   {T_DO, "DO"},
                                                 {T_DONT, "DONT"}, {0, NULL}};
static const struct value_name sub_start_tls[] = {{1, "FOLLOWS"}, {0, NULL}};

/* Where a direction's byte machine is. */
enum parse_phase {
	P_DATA = 0,  /* data bytes */
	P_IAC,       /* after IAC */
	P_OPTION,    /* after IAC WILL/WONT/DO/DONT: the option byte */
	P_SB_OPTION, /* after IAC SB: the option byte */
	P_SB_DATA,   /* inside a sub-negotiation */
	P_SB_IAC,    /* IAC inside a sub-negotiation */
	P_CIPHER,    /* encrypted (ENCRYPT START) or handed over: bytes only counted */
};

/* What the client's next line answers. */
enum expect { EXPECT_NONE = 0, EXPECT_LOGIN, EXPECT_PASSWORD };

struct telnet_dir {
	uint8_t phase;
	uint8_t cmd;    /* the WILL/WONT/DO/DONT being read */
	uint8_t sb_opt; /* the option of the sub-negotiation being read */
	uint8_t sb_len;
	bool sb_over; /* the sub-negotiation was longer than the buffer */
	bool after_cr;
	uint8_t sb[TELNET_MAX_SB];
};

struct neg_entry {
	uint8_t dir, cmd, opt, sub;
	bool has_sub;
};

struct telnet_state {
	struct telnet_dir dir[2];
	/* the client's line being typed */
	uint8_t line[TELNET_MAX_LINE];
	uint16_t line_len;
	bool line_cut;    /* bytes past the cap were typed */
	bool line_broken; /* a gap fell inside it: its end answers nothing */
	/* the server's current output line (its last bytes) */
	uint8_t tail[TELNET_MAX_TAIL];
	uint8_t tail_len;
	bool tail_answered;  /* a client line ended since the tail last grew */
	bool line_started;   /* the client typed since its last line end */
	uint8_t expect;      /* what the line being typed answers */
	uint8_t awaiting;    /* server lines left to look for a failure in */
	bool after_password; /* a login prompt now means the password failed */

	struct neg_entry neg[TELNET_MAX_NEGOTIATION];
	uint8_t n_neg;
	uint32_t neg_truncated;
	uint8_t options[TELNET_MAX_OPTIONS];
	uint8_t n_options;
	uint32_t options_truncated;
	uint8_t seen_option[32]; /* bitmap of options listed or left out */

	char terminal_type[TELNET_MAX_STRING];
	char terminal_speed[TELNET_MAX_STRING];
	char x_display[TELNET_MAX_STRING];
	char env_user[TELNET_MAX_STRING];
	char auth_name[TELNET_MAX_STRING];
	char user[TELNET_MAX_STRING];
	char password[TELNET_MAX_STRING]; /* kept only with --show-credentials */
	char env_names[TELNET_MAX_ENV][TELNET_MAX_ENV_NAME];
	uint8_t n_env;
	uint16_t naws_width, naws_height;
	uint32_t login_attempts, failed_logins;

	bool has_naws, has_password;
	bool login_prompt_seen, password_prompt_seen, password_sent;
	bool encrypted, starttls, gap, malformed, cleartext, handed_off;
	bool stop; /* the current on_data call returns at once */
};

_Static_assert(sizeof(struct telnet_state) <= 2048, "struct telnet_state grew");

static const uint16_t telnet_ports[] = {23, 0};

static const char *dir_name(unsigned dir)
{
	return dir == DIR_CLIENT ? "client" : "server";
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Keeps n bytes (cut to the buffer) as a NUL-terminated string. */
static void keep(char *dst, size_t cap, const uint8_t *src, size_t n)
{
	if (n > cap - 1)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* ---- the negotiation log ---- */

static void note_option(struct telnet_state *st, struct session *s, uint8_t opt)
{
	uint8_t bit = (uint8_t)(1u << (opt & 7));

	if (st->seen_option[opt >> 3] & bit)
		return;
	st->seen_option[opt >> 3] |= bit;
	if (st->n_options < TELNET_MAX_OPTIONS) {
		st->options[st->n_options++] = opt;
	} else {
		st->options_truncated++;
		session_count(s, "telnet.too_many_options");
	}
}

static void note_command(struct telnet_state *st, struct session *s, enum direction dir,
                         uint8_t cmd, uint8_t opt, int sub)
{
	if (st->n_neg >= TELNET_MAX_NEGOTIATION) {
		st->neg_truncated++;
		session_count(s, "telnet.too_many_negotiations");
		return;
	}
	struct neg_entry *n = &st->neg[st->n_neg++];
	n->dir = (uint8_t)dir;
	n->cmd = cmd;
	n->opt = opt;
	n->has_sub = sub >= 0;
	n->sub = (uint8_t)(sub >= 0 ? sub : 0);
}

/* ---- logins ---- */

static bool ends_with_nocase(const uint8_t *p, size_t n, const char *lit)
{
	size_t m = strlen(lit);
	if (n < m)
		return false;
	for (size_t i = 0; i < m; i++)
		if (lower(p[n - m + i]) != lit[i])
			return false;
	return true;
}

static bool contains_nocase(const uint8_t *p, size_t n, const char *lit)
{
	size_t m = strlen(lit);
	for (size_t at = 0; at + m <= n; at++)
		if (ends_with_nocase(p + at, m, lit))
			return true;
	return false;
}

static const char *const login_prompts[] = {
    "login:", "username:", "user name:", "userid:", "user:", NULL};
static const char *const password_prompts[] = {"password:", "passwd:", "passcode:", NULL};
static const char *const failure_messages[] = {
    "login incorrect",    "login failed",  "authentication failed",
    "access denied",      "invalid login", "login invalid",
    "incorrect password", "bad password",  NULL};

static bool ends_with_any(const uint8_t *p, size_t n, const char *const *list)
{
	for (; *list; list++)
		if (ends_with_nocase(p, n, *list))
			return true;
	return false;
}

/* What the server's output so far ends with: a password prompt, a login
 * prompt or neither (trailing blanks ignored). */
static enum expect tail_prompt(const struct telnet_state *st)
{
	size_t n = st->tail_len;

	while (n > 0 && (st->tail[n - 1] == ' ' || st->tail[n - 1] == '\t'))
		n--;
	if (ends_with_any(st->tail, n, password_prompts))
		return EXPECT_PASSWORD;
	if (ends_with_any(st->tail, n, login_prompts))
		return EXPECT_LOGIN;
	return EXPECT_NONE;
}

/* The client starts a line: the server is waiting for it, so whatever its
 * output ends with now is the question the line answers.  (Deciding here
 * rather than when server bytes arrive keeps "Last login:" cut at a segment
 * boundary from passing for a prompt; the echo of the line's characters
 * comes after its first one.) */
static void client_line_start(struct telnet_state *st)
{
	st->line_started = true;
	st->expect = st->tail_answered ? EXPECT_NONE : tail_prompt(st);
	if (st->expect == EXPECT_PASSWORD) {
		st->password_prompt_seen = true;
	} else if (st->expect == EXPECT_LOGIN) {
		if (st->after_password) {
			/* asked for a login again right after a password */
			st->failed_logins++;
			st->after_password = false;
			st->awaiting = 0;
		}
		st->login_prompt_seen = true;
	}
}

/* A whole server output line (in the tail) ended. */
static void server_line_end(struct telnet_state *st)
{
	if (st->awaiting && st->tail_len) {
		bool failed = false;
		for (const char *const *m = failure_messages; *m && !failed; m++)
			failed = contains_nocase(st->tail, st->tail_len, *m);
		if (failed) {
			st->failed_logins++;
			st->awaiting = 0;
			st->after_password = false;
		} else if (--st->awaiting == 0) {
			st->after_password = false;
		}
	}
	st->tail_len = 0;
}

static void server_byte(struct telnet_state *st, uint8_t c)
{
	st->tail_answered = false;
	if (c == '\r' || c == '\n') {
		server_line_end(st);
		return;
	}
	if (c == 0)
		return;
	if (st->tail_len == TELNET_MAX_TAIL) {
		/* keep the last half: a prompt is short */
		memmove(st->tail, st->tail + TELNET_MAX_TAIL / 2, TELNET_MAX_TAIL / 2);
		st->tail_len = TELNET_MAX_TAIL / 2;
	}
	st->tail[st->tail_len++] = c;
}

static void line_reset(struct telnet_state *st)
{
	st->line_started = false;
	st->expect = EXPECT_NONE;
	st->line_len = 0;
	st->line_cut = false;
	st->line_broken = false;
}

/* The client ended a line: it answers the last prompt, if one is armed. */
static void client_line_end(struct telnet_state *st, struct session *s)
{
	uint8_t expect = st->expect;

	if (st->line_broken) {
		st->tail_answered = true;
		line_reset(st);
		return;
	}
	if (!st->line_started) {
		line_reset(st); /* nothing typed: answers nothing */
		return;
	}
	if (st->line_cut)
		session_count(s, "telnet.line_too_long");
	if (expect == EXPECT_LOGIN && st->line_len == 0 && !st->line_cut) {
		/* an empty answer: the prompt still stands (getty asks again) */
		line_reset(st);
		return;
	}
	st->tail_answered = true;
	if (expect == EXPECT_LOGIN) {
		keep(st->user, sizeof st->user, st->line, st->line_len);
		st->login_attempts++;
		st->awaiting = TELNET_RESULT_LINES;
		st->after_password = false;
	} else if (expect == EXPECT_PASSWORD) {
		st->password_sent = true;
		session_alert(s, ALERT_CLEARTEXT_CREDENTIALS);
		if (session_show_credentials(s)) {
			keep(st->password, sizeof st->password, st->line, st->line_len);
			st->has_password = true;
		}
		st->awaiting = TELNET_RESULT_LINES;
		st->after_password = true;
	}
	line_reset(st);
}

static void erase_char(struct telnet_state *st)
{
	if (st->line_cut)
		return; /* the erased byte was one past the cap */
	if (st->line_len > 0)
		st->line_len--;
}

static void client_byte(struct telnet_state *st, struct session *s, uint8_t c)
{
	struct telnet_dir *d = &st->dir[DIR_CLIENT];

	if (d->after_cr) {
		d->after_cr = false;
		if (c == 0 || c == '\n')
			return; /* CR NUL, CR LF: the line already ended at CR */
	}
	switch (c) {
	case '\r':
		d->after_cr = true;
		client_line_end(st, s);
		return;
	case '\n':
		client_line_end(st, s);
		return;
	case 0:
		return;
	case 0x08: /* BS */
	case 0x7f: /* DEL */
		erase_char(st);
		return;
	case 0x15: /* ^U: the line */
		st->line_len = 0;
		st->line_cut = false;
		return;
	default:
		break;
	}
	if (!st->line_started)
		client_line_start(st);
	if (st->line_len < TELNET_MAX_LINE)
		st->line[st->line_len++] = c;
	else
		st->line_cut = true;
}

static void data_byte(struct telnet_state *st, struct session *s, enum direction dir, uint8_t c)
{
	if (!st->cleartext) {
		st->cleartext = true;
		session_alert(s, ALERT_INSECURE_PROTOCOL);
	}
	if (dir == DIR_CLIENT)
		client_byte(st, s, c);
	else
		server_byte(st, c);
}

/* ---- sub-negotiations ---- */

/* "IS <text>" into dst. */
static void sb_text(char *dst, size_t cap, struct reader r)
{
	if (rd_u8(&r) != 0 || !rd_ok(&r))
		return;
	size_t n = rd_remaining(&r);
	const uint8_t *p = rd_take(&r, n);
	if (p)
		keep(dst, cap, p, n);
}

/* RFC 1572: IS|INFO then (VAR|USERVAR name [VALUE value])*, ESC quoting. */
static void sb_environ(struct telnet_state *st, struct reader r)
{
	enum { VAR = 0, VALUE = 1, ESC = 2, USERVAR = 3 };
	uint8_t name[TELNET_MAX_ENV_NAME], value[TELNET_MAX_STRING];
	size_t nn = 0, nv = 0;
	int in = -1; /* -1 nothing, VAR: a name, VALUE: a value */
	bool have = false;

	int sub = rd_u8(&r);
	if (!rd_ok(&r) || (sub != 0 && sub != 2))
		return;
	for (;;) {
		int c = rd_remaining(&r) ? rd_u8(&r) : -1;
		if (c == VAR || c == USERVAR || c < 0) {
			if (have) {
				bool is_user = nn == 4 && memcmp(name, "USER", 4) == 0;
				if (is_user && in == VALUE)
					keep(st->env_user, sizeof st->env_user, value, nv);
				bool dup = false;
				for (unsigned i = 0; i < st->n_env && !dup; i++)
					dup = strlen(st->env_names[i]) == nn &&
					      memcmp(st->env_names[i], name, nn) == 0;
				if (!dup && st->n_env < TELNET_MAX_ENV)
					keep(st->env_names[st->n_env++], TELNET_MAX_ENV_NAME, name,
					     nn);
			}
			if (c < 0)
				return;
			in = VAR;
			have = true;
			nn = nv = 0;
			continue;
		}
		if (c == VALUE && in == VAR) {
			in = VALUE;
			continue;
		}
		if (c == ESC && rd_remaining(&r))
			c = rd_u8(&r);
		if (in == VAR && nn < sizeof name)
			name[nn++] = (uint8_t)c;
		else if (in == VALUE && nv < sizeof value)
			value[nv++] = (uint8_t)c;
	}
}

static const struct value_name *sub_table(uint8_t opt)
{
	switch (opt) {
	case OPT_TTYPE:
	case OPT_TSPEED:
	case OPT_XDISPLOC:
	case OPT_OLD_ENVIRON:
	case OPT_NEW_ENVIRON:
		return sub_is_send;
	case OPT_AUTHENTICATION:
		return sub_auth;
	case OPT_ENCRYPT:
		return sub_encrypt;
	case OPT_LINEMODE:
		return sub_linemode;
	case OPT_START_TLS:
		return sub_start_tls;
	default:
		return NULL;
	}
}

/* A whole sub-negotiation: IAC SB opt <d->sb> IAC SE. */
static void sb_done(struct telnet_state *st, struct session *s, enum direction dir)
{
	struct telnet_dir *d = &st->dir[dir];
	struct reader r = rd_init(d->sb, d->sb_len);
	uint8_t opt = d->sb_opt;
	int sub = rd_peek(&r, 0);

	if (d->sb_over)
		session_count(s, "telnet.subnegotiation_too_long");
	note_option(st, s, opt);
	note_command(st, s, dir, T_SB, opt, sub_table(opt) ? sub : -1);
	switch (opt) {
	case OPT_TTYPE:
		if (dir == DIR_CLIENT)
			sb_text(st->terminal_type, sizeof st->terminal_type, r);
		break;
	case OPT_TSPEED:
		if (dir == DIR_CLIENT)
			sb_text(st->terminal_speed, sizeof st->terminal_speed, r);
		break;
	case OPT_XDISPLOC:
		if (dir == DIR_CLIENT)
			sb_text(st->x_display, sizeof st->x_display, r);
		break;
	case OPT_NAWS: {
		uint16_t w = rd_be16(&r), h = rd_be16(&r);
		if (rd_ok(&r) && dir == DIR_CLIENT) {
			st->naws_width = w;
			st->naws_height = h;
			st->has_naws = true;
		}
		break;
	}
	case OPT_OLD_ENVIRON:
	case OPT_NEW_ENVIRON:
		if (dir == DIR_CLIENT)
			sb_environ(st, r);
		break;
	case OPT_AUTHENTICATION:
		if (sub == 3 && dir == DIR_CLIENT) { /* NAME */
			rd_skip(&r, 1);
			size_t n = rd_remaining(&r);
			const uint8_t *p = rd_take(&r, n);
			if (p)
				keep(st->auth_name, sizeof st->auth_name, p, n);
		}
		break;
	case OPT_ENCRYPT:
		if (sub == 3) { /* START: this side's bytes are ciphertext now */
			st->encrypted = true;
			d->phase = P_CIPHER;
		}
		break;
	case OPT_START_TLS:
		if (sub == 1 && dir == DIR_CLIENT) { /* the client FOLLOWS: TLS next */
			st->starttls = true;
			st->handed_off = session_handoff(s, "tls");
			st->dir[0].phase = st->dir[1].phase = P_CIPHER;
			st->stop = st->handed_off;
		}
		break;
	default:
		break;
	}
	d->sb_len = 0;
	d->sb_over = false;
}

static void sb_byte(struct telnet_dir *d, uint8_t c)
{
	if (d->sb_len < TELNET_MAX_SB)
		d->sb[d->sb_len++] = c;
	else
		d->sb_over = true;
}

static void mark_malformed(struct telnet_state *st, struct session *s)
{
	session_count(s, "telnet.bad_command");
	if (!st->malformed) {
		st->malformed = true;
		session_alert(s, ALERT_MALFORMED);
	}
}

/* The byte after IAC (outside a sub-negotiation). */
static void command_byte(struct telnet_state *st, struct session *s, enum direction dir, uint8_t c)
{
	struct telnet_dir *d = &st->dir[dir];

	d->phase = P_DATA;
	switch (c) {
	case T_IAC:
		data_byte(st, s, dir, c);
		return;
	case T_WILL:
	case T_WONT:
	case T_DO:
	case T_DONT:
		d->cmd = c;
		d->phase = P_OPTION;
		return;
	case T_SB:
		d->phase = P_SB_OPTION;
		return;
	case T_NOP:
	case T_GA:
		return; /* frequent and meaningless for the record */
	case T_EC:
		if (dir == DIR_CLIENT)
			erase_char(st);
		break;
	case T_EL:
		if (dir == DIR_CLIENT) {
			st->line_len = 0;
			st->line_cut = false;
		}
		break;
	case T_SE:
		session_count(s, "telnet.stray_se");
		break;
	default:
		if (c < 236) {
			mark_malformed(st, s);
			return;
		}
		break;
	}
	note_command(st, s, dir, c, 0, -1);
}

static void telnet_byte(struct telnet_state *st, struct session *s, enum direction dir, uint8_t c)
{
	struct telnet_dir *d = &st->dir[dir];

	switch (d->phase) {
	case P_DATA:
		if (c == T_IAC)
			d->phase = P_IAC;
		else
			data_byte(st, s, dir, c);
		break;
	case P_IAC:
		command_byte(st, s, dir, c);
		break;
	case P_OPTION:
		note_option(st, s, c);
		note_command(st, s, dir, d->cmd, c, -1);
		d->phase = P_DATA;
		break;
	case P_SB_OPTION:
		d->sb_opt = c;
		d->sb_len = 0;
		d->sb_over = false;
		d->phase = P_SB_DATA;
		break;
	case P_SB_DATA:
		if (c == T_IAC)
			d->phase = P_SB_IAC;
		else
			sb_byte(d, c);
		break;
	case P_SB_IAC:
		if (c == T_IAC) {
			sb_byte(d, c);
			d->phase = P_SB_DATA;
		} else if (c == T_SE) {
			d->phase = P_DATA;
			sb_done(st, s, dir);
		} else {
			/* RFC 855 wants IAC SE: end the sub-negotiation here and
			 * take the byte as the command it is */
			session_count(s, "telnet.unterminated_subnegotiation");
			d->phase = P_DATA;
			sb_done(st, s, dir);
			if (d->phase == P_DATA)
				command_byte(st, s, dir, c);
		}
		break;
	default: /* P_CIPHER */
		break;
	}
}

/* ---- the descriptor's calls ---- */

static bool is_text(int c)
{
	return (c >= 0x20 && c < 0x7f) || c == '\r' || c == '\n' || c == '\t';
}

/* Server text this long without a prompt is not a telnet login. */
#define TELNET_PROBE_TEXT 512

/* The verdict rule:
 * - IAC then WILL, WONT, DO, DONT or SB as the first bytes (either side):
 *   YES; IAC then anything else: NO.
 * - The server's first bytes are text (printable ASCII, CR, LF, TAB, and
 *   NUL only after CR):
 *   YES when they end with a login or password prompt ("login:",
 *   "Username:", "Password:" ..., trailing blanks allowed), or when IAC and
 *   a negotiation (SB, WILL, WONT, DO, DONT) follow the text; NEED_MORE
 *   while they end with a line end and are shorter than TELNET_PROBE_TEXT
 *   (a banner before the prompt); NO otherwise.
 * - Anything else, and any client text: NO.
 * The probe cannot see the port, so on port 23 a plain-text telnet that
 * never prompts is left to the port table; "220 " or "+OK" greetings end in
 * a line end and get NEED_MORE, but their own dissectors rank first. */
static enum verdict telnet_probe(struct reader r, enum direction dir)
{
	int c = rd_peek(&r, 0);

	if (c < 0)
		return VERDICT_NEED_MORE;
	if (c == T_IAC) {
		int cmd = rd_peek(&r, 1);
		if (cmd < 0)
			return VERDICT_NEED_MORE;
		return cmd >= T_SB && cmd <= T_DONT ? VERDICT_YES : VERDICT_NO;
	}
	if (dir != DIR_SERVER)
		return VERDICT_NO;
	size_t n = rd_remaining(&r);
	for (size_t i = 0; i < n; i++) {
		c = rd_peek(&r, i);
		if (c == T_IAC) {
			int cmd = rd_peek(&r, i + 1);
			if (cmd < 0)
				return VERDICT_NEED_MORE;
			return cmd >= T_SB && cmd <= T_DONT ? VERDICT_YES : VERDICT_NO;
		}
		/* NUL only as the CR NUL of RFC 854 */
		if (!is_text(c) && !(c == 0 && i > 0 && rd_peek(&r, i - 1) == '\r'))
			return VERDICT_NO;
	}
	size_t m = n;
	while (m > 0 && (rd_peek(&r, m - 1) == ' ' || rd_peek(&r, m - 1) == '\t'))
		m--;
	uint8_t last[TELNET_MAX_TAIL];
	size_t k = 0;
	for (size_t i = m > sizeof last ? m - sizeof last : 0; i < m; i++)
		last[k++] = (uint8_t)rd_peek(&r, i);
	if (ends_with_any(last, k, login_prompts) || ends_with_any(last, k, password_prompts))
		return VERDICT_YES;
	c = rd_peek(&r, n - 1);
	if ((c == '\r' || c == '\n' || c == 0) && n < TELNET_PROBE_TEXT)
		return VERDICT_NEED_MORE;
	return VERDICT_NO;
}

static size_t telnet_on_data(struct session *s, void *state, enum direction dir, struct reader r)
{
	struct telnet_state *st = state;
	struct telnet_dir *d = &st->dir[dir];

	while (rd_remaining(&r) && !st->stop) {
		if (d->phase == P_CIPHER) {
			rd_skip(&r, rd_remaining(&r));
			break;
		}
		telnet_byte(st, s, dir, rd_u8(&r));
	}
	st->stop = false;
	return rd_offset(&r);
}

static void telnet_on_gap(struct session *s, void *state, enum direction dir, size_t missing)
{
	struct telnet_state *st = state;
	struct telnet_dir *d = &st->dir[dir];

	(void)s;
	(void)missing;
	st->gap = true;
	if (d->phase == P_CIPHER)
		return;
	/* where the bytes after the hole stand is unknown: start afresh */
	d->phase = P_DATA;
	d->sb_len = 0;
	d->sb_over = false;
	d->after_cr = false;
	if (dir == DIR_CLIENT) {
		st->line_broken = true;
	} else {
		st->tail_len = 0;
	}
}

static void telnet_on_end(struct session *s, void *state)
{
	struct telnet_state *st = state;

	/* a prompt the flow ended on was seen, if never answered */
	enum expect last = st->tail_answered ? EXPECT_NONE : tail_prompt(st);
	if (last == EXPECT_LOGIN) {
		st->login_prompt_seen = true;
		if (st->after_password) {
			st->failed_logins++;
			st->after_password = false;
		}
	} else if (last == EXPECT_PASSWORD)
		st->password_prompt_seen = true;
	for (int i = 0; i < 2; i++) {
		uint8_t ph = st->dir[i].phase;
		if (ph != P_DATA && ph != P_CIPHER)
			session_count(s, "telnet.incomplete_command");
	}
}

/* ---- output ---- */

static void put_name(char *buf, size_t n, const struct value_name *table, unsigned v,
                     const char *fallback)
{
	const char *name = value_name_lookup(table, v);
	if (name)
		snprintf(buf, n, "%s", name);
	else
		snprintf(buf, n, "%s-%u", fallback, v);
}

static void emit_neg(const struct neg_entry *ne, struct emitter *e)
{
	char cmd[16], opt[24], sub[24], out[80];

	put_name(cmd, sizeof cmd, telnet_commands, ne->cmd, "CMD");
	if (ne->cmd < T_SB) {
		snprintf(out, sizeof out, "%s %s", dir_name(ne->dir), cmd);
	} else {
		put_name(opt, sizeof opt, telnet_options, ne->opt, "OPT");
		if (ne->has_sub) {
			const struct value_name *t = sub_table(ne->opt);
			put_name(sub, sizeof sub, t, ne->sub, "");
			snprintf(out, sizeof out, "%s %s %s %s", dir_name(ne->dir), cmd, opt,
			         value_name_lookup(t, ne->sub) ? sub : sub + 1);
		} else {
			snprintf(out, sizeof out, "%s %s %s", dir_name(ne->dir), cmd, opt);
		}
	}
	emit_str(e, NULL, out);
}

static void emit_opt_str(struct emitter *e, const char *key, const char *v)
{
	if (v[0])
		emit_str(e, key, v);
}

static void telnet_emit(const void *state, struct emitter *e)
{
	const struct telnet_state *st = state;
	char buf[24];

	emit_array_begin(e, "options");
	for (unsigned i = 0; i < st->n_options; i++) {
		put_name(buf, sizeof buf, telnet_options, st->options[i], "OPT");
		emit_str(e, NULL, buf);
	}
	emit_array_end(e);
	if (st->options_truncated)
		emit_int(e, "options_truncated", st->options_truncated);
	emit_array_begin(e, "negotiation");
	for (unsigned i = 0; i < st->n_neg; i++)
		emit_neg(&st->neg[i], e);
	emit_array_end(e);
	if (st->neg_truncated)
		emit_int(e, "truncated", st->neg_truncated);
	emit_str(e, "terminal_type", st->terminal_type[0] ? st->terminal_type : NULL);
	if (st->has_naws) {
		emit_object_begin(e, "window");
		emit_int(e, "width", st->naws_width);
		emit_int(e, "height", st->naws_height);
		emit_object_end(e);
	}
	emit_opt_str(e, "terminal_speed", st->terminal_speed);
	emit_opt_str(e, "x_display", st->x_display);
	emit_opt_str(e, "environment_user", st->env_user);
	if (st->n_env) {
		emit_array_begin(e, "environment_vars");
		for (unsigned i = 0; i < st->n_env; i++)
			emit_str(e, NULL, st->env_names[i]);
		emit_array_end(e);
	}
	emit_opt_str(e, "auth_name", st->auth_name);
	emit_str(e, "user", st->user[0] ? st->user : NULL);
	emit_bool(e, "login_prompt_seen", st->login_prompt_seen);
	emit_bool(e, "password_prompt_seen", st->password_prompt_seen);
	emit_bool(e, "password_sent", st->password_sent);
	if (st->has_password)
		emit_str(e, "password", st->password);
	if (st->login_attempts)
		emit_int(e, "login_attempts", st->login_attempts);
	if (st->failed_logins) {
		emit_bool(e, "failed_login", true);
		emit_int(e, "failed_logins", st->failed_logins);
	}
	if (st->encrypted)
		emit_bool(e, "encrypted", true);
	if (st->starttls)
		emit_bool(e, "starttls", true);
	if (st->gap)
		emit_bool(e, "gap", true);
}

/* "user fake, xterm-color, 12 options" */
static void telnet_summarize(const void *state, char *buf, size_t n)
{
	const struct telnet_state *st = state;
	char user[TELNET_MAX_STRING * 4], tt[TELNET_MAX_STRING * 4];
	size_t at = 0;

	if (!n)
		return;
	buf[0] = '\0';
	if (st->user[0]) {
		text_escape(st->user, strlen(st->user), user, sizeof user);
		int w = snprintf(buf, n, "user %s%s, ", user, st->failed_logins ? " (failed)" : "");
		at = w < 0 ? 0 : (size_t)w < n ? (size_t)w : n - 1;
	}
	if (st->terminal_type[0] && at + 1 < n) {
		text_escape(st->terminal_type, strlen(st->terminal_type), tt, sizeof tt);
		int w = snprintf(buf + at, n - at, "%s, ", tt);
		at = w < 0 ? at : at + ((size_t)w < n - at ? (size_t)w : n - at - 1);
	}
	if (at + 1 < n)
		snprintf(buf + at, n - at, "%u options%s", st->n_options,
		         st->encrypted || st->starttls ? ", encrypted" : "");
}

const struct dissector telnet_dissector = {
    .name = "telnet",
    .transports = TRANSPORT_BIT_TCP,
    .ports = telnet_ports,
    .state_size = sizeof(struct telnet_state),
    .probe = telnet_probe,
    .on_data = telnet_on_data,
    .on_gap = telnet_on_gap,
    .on_end = telnet_on_end,
    .emit = telnet_emit,
    .summarize = telnet_summarize,
};

/* NetBIOS names: first-level encoding (RFC 1001 14.1) and the suffix
 * registry.  Every byte comes through struct reader or an explicit length. */
#include <stdio.h>
#include <string.h>

#include "portolan/dissector.h"
#include "portolan/netbios_name.h"

/* Microsoft's suffixes (KB 163409), named as Wireshark's packet-nbns.c does. */
static const struct value_name nb_unique_suffixes[] = {
    {0x00, "Workstation/Redirector"},
    {0x01, "Browser"},
    {0x02, "Workstation/Redirector"},
    {0x03, "Messenger service/Main name"},
    {0x05, "Forwarded name"},
    {0x06, "RAS Server service"},
    {0x1b, "Domain Master Browser"},
    {0x1c, "Domain Controllers"},
    {0x1d, "Local Master Browser"},
    {0x1e, "Browser Election Service"},
    {0x1f, "Net DDE Service"},
    {0x20, "Server service"},
    {0x21, "RAS client service"},
    {0x22, "Exchange Interchange (MSMail Connector)"},
    {0x23, "Exchange Store"},
    {0x24, "Exchange Directory"},
    {0x2b, "Lotus Notes Server service"},
    {0x30, "Modem sharing server service"},
    {0x31, "Modem sharing client service"},
    {0x43, "SMS Clients Remote Control"},
    {0x44, "SMS Administrators Remote Control Tool"},
    {0x45, "SMS Clients Remote Chat"},
    {0x46, "SMS Clients Remote Transfer"},
    {0x4c, "DEC Pathworks TCP/IP Service on Windows NT"},
    {0x52, "DEC Pathworks TCP/IP Service on Windows NT"},
    {0x6a, "Microsoft Exchange IMC"},
    {0x87, "Microsoft Exchange MTA"},
    {0xbe, "Network Monitor Agent"},
    {0xbf, "Network Monitor Analyzer"},
    {0, NULL},
};

/* A group name with these suffixes means something of its own. */
static const struct value_name nb_group_suffixes[] = {
    {0x00, "Domain/Workgroup Name"},    {0x01, "Master Browser"}, {0x1c, "Domain Controllers"},
    {0x1e, "Browser Election Service"}, {0x20, "Internet Group"}, {0, NULL},
};

const char *nb_suffix_meaning(uint8_t suffix, bool group)
{
	const char *name = group ? value_name_lookup(nb_group_suffixes, suffix) : NULL;
	return name ? name : value_name_lookup(nb_unique_suffixes, suffix);
}

const char *nb_suffix_text(uint8_t suffix, char *buf, size_t n)
{
	snprintf(buf, n, "<%02X>", suffix);
	return buf;
}

/* Trailing spaces (the padding) and NULs (the wildcard name "*" is NUL
 * padded) are not part of the name. */
static uint8_t trimmed_len(const char *s, size_t n)
{
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\0'))
		n--;
	return (uint8_t)n;
}

bool nb_decode_label(const uint8_t *label, size_t n, struct nb_name *out)
{
	char name[NB_NAME_LEN + 1];

	if (n != NB_ENCODED_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (label[i] < 'A' || label[i] > 'P')
			return false;
	for (size_t i = 0; i < NB_NAME_LEN + 1; i++)
		name[i] = (char)((label[2 * i] - 'A') << 4 | (label[2 * i + 1] - 'A'));
	memset(out, 0, sizeof *out);
	out->encoded = true;
	out->suffix = (uint8_t)name[NB_NAME_LEN];
	memcpy(out->text, name, NB_NAME_LEN);
	out->len = trimmed_len(name, NB_NAME_LEN);
	return true;
}

static void set_scope(struct nb_name *out, const char *s, size_t n)
{
	out->scope_cut = n > NB_SCOPE_MAX;
	if (n > NB_SCOPE_MAX)
		n = NB_SCOPE_MAX;
	memcpy(out->scope, s, n);
	out->scope_len = (uint8_t)n;
}

void nb_name_from_text(const char *text, size_t n, struct nb_name *out)
{
	if (n >= NB_ENCODED_LEN && (n == NB_ENCODED_LEN || text[NB_ENCODED_LEN] == '.') &&
	    nb_decode_label((const uint8_t *)text, NB_ENCODED_LEN, out)) {
		if (n > NB_ENCODED_LEN + 1)
			set_scope(out, text + NB_ENCODED_LEN + 1, n - NB_ENCODED_LEN - 1);
		return;
	}
	memset(out, 0, sizeof *out);
	if (n > NB_RAW_MAX)
		n = NB_RAW_MAX;
	memcpy(out->text, text, n);
	out->len = (uint8_t)n;
}

int nb_read_name(struct reader *r, struct nb_name *out)
{
	char text[NB_WIRE_MAX + 1];
	size_t len = 0, wire = 0;

	for (;;) {
		uint8_t n = rd_u8(r);
		if (!rd_ok(r))
			return NB_ERR_SHORT;
		if (n & 0xc0) {
			rd_fail(r);
			return NB_ERR_LABEL;
		}
		wire += 1u + n;
		if (wire > NB_WIRE_MAX) {
			rd_fail(r);
			return NB_ERR_TOO_LONG;
		}
		if (n == 0)
			break;
		const uint8_t *label = rd_take(r, n);
		if (!label)
			return NB_ERR_SHORT;
		if (len)
			text[len++] = '.';
		memcpy(text + len, label, n); /* wire <= 255 keeps len within text */
		len += n;
	}
	nb_name_from_text(text, len, out);
	return NB_OK;
}

size_t nb_name_label(const struct nb_name *name, char *buf, size_t n)
{
	char suffix[8];
	size_t len = 0;

	if (n == 0)
		return 0;
	size_t take = name->len < n - 1 ? name->len : n - 1;
	memcpy(buf, name->text, take);
	len = take;
	if (name->encoded) {
		nb_suffix_text(name->suffix, suffix, sizeof suffix);
		size_t sl = strlen(suffix);
		if (sl > n - 1 - len)
			sl = n - 1 - len;
		memcpy(buf + len, suffix, sl);
		len += sl;
	}
	buf[len] = '\0';
	return len;
}

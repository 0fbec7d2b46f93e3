/* The HTML report (portolan/report.h).
 *
 * Everything on the page that came from the wire (summaries, names, text
 * snippets) goes through html_text(), which escapes markup and replaces
 * control bytes; nothing from the wire is ever placed inside a script.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "portolan/dissect.h"
#include "portolan/json.h"
#include "portolan/pipeline.h"
#include "portolan/ports.h"
#include "portolan/record.h"
#include "portolan/report.h"
#include "portolan/teach.h"

#define REPORT_MAX_ROWS 5000
#define REPORT_MAX_FINDINGS 200
#define SUMMARY_CHARS 160

struct row {
	char uid[UID_LEN];
	char client[64], server[64];
	uint16_t client_port, server_port;
	uint8_t transport;
	char protocol[24];
	char state[8];
	double duration;
	uint64_t bytes[2];
	uint32_t alerts;
	char summary[SUMMARY_CHARS];
};

struct example {
	int quality;
	char *svg, *prose;
	char title[160];
};

struct report {
	struct row *rows;
	size_t n_rows;
	uint64_t rows_dropped;
	uint64_t tcp, udp;
	uint64_t server_class[3], client_class[3]; /* well-known, registered, dynamic */
	struct example tcp_example, udp_example;
};

struct report *report_new(void)
{
	struct report *r = calloc(1, sizeof *r);
	if (r)
		r->rows = calloc(REPORT_MAX_ROWS, sizeof *r->rows);
	if (r && !r->rows) {
		free(r);
		return NULL;
	}
	return r;
}

static void example_free(struct example *x)
{
	free(x->svg);
	free(x->prose);
}

void report_free(struct report *r)
{
	if (!r)
		return;
	example_free(&r->tcp_example);
	example_free(&r->udp_example);
	free(r->rows);
	free(r);
}

static unsigned class_index(uint16_t port)
{
	return port < 1024 ? 0 : port < 49152 ? 1 : 2;
}

static void endpoint_text(char *out, size_t n, const struct flow *f, enum direction side)
{
	char ip[64];
	ip_addr_format(&f->addr[side], ip, sizeof ip);
	snprintf(out, n, "%s", ip);
}

static void fill_row(struct row *w, const struct flow *f, const char *protocol)
{
	char summary[512] = "";
	record_uid(f, w->uid, sizeof w->uid);
	endpoint_text(w->client, sizeof w->client, f, DIR_CLIENT);
	endpoint_text(w->server, sizeof w->server, f, DIR_SERVER);
	w->client_port = f->port[DIR_CLIENT];
	w->server_port = f->port[DIR_SERVER];
	w->transport = f->proto;
	snprintf(w->protocol, sizeof w->protocol, "%s", protocol);
	snprintf(w->state, sizeof w->state, "%s", flow_conn_state(f));
	w->duration = (double)(f->ts_last - f->ts_first) / (double)USEC_PER_SEC;
	w->bytes[0] = flow_bytes(f, DIR_CLIENT);
	w->bytes[1] = flow_bytes(f, DIR_SERVER);
	w->alerts = f->alerts;
	if (f->dissector && f->dissector->summarize)
		f->dissector->summarize(f->dstate, summary, sizeof summary);
	text_sanitize(summary, strnlen(summary, sizeof summary), w->summary, sizeof w->summary);
}

/* Keeps f's ladder when it is a better example than the one kept. */
static void consider_example(struct example *x, const struct flow *f, const char *protocol)
{
	int q = explain_quality(f);
	if (q <= x->quality)
		return;
	char *svg = explain_svg(f, protocol), *prose = explain_prose(f, protocol);
	if (!svg || !prose) {
		free(svg);
		free(prose);
		return;
	}
	example_free(x);
	x->quality = q;
	x->svg = svg;
	x->prose = prose;
	char c[64], s[64];
	endpoint_text(c, sizeof c, f, DIR_CLIENT);
	endpoint_text(s, sizeof s, f, DIR_SERVER);
	snprintf(x->title, sizeof x->title, "%s %s:%u -> %s:%u (%s)", transport_label(f->proto), c,
	         f->port[DIR_CLIENT], s, f->port[DIR_SERVER], protocol);
}

void report_session(struct report *r, const struct flow *f, const char *protocol)
{
	if (f->proto == TRANSPORT_TCP)
		r->tcp++;
	else if (f->proto == TRANSPORT_UDP)
		r->udp++;
	if (!transport_is_icmp(f->proto)) { /* ICMP has no ports and no ladder example */
		r->server_class[class_index(f->port[DIR_SERVER])]++;
		r->client_class[class_index(f->port[DIR_CLIENT])]++;
		consider_example(f->proto == TRANSPORT_TCP ? &r->tcp_example : &r->udp_example, f,
		                 protocol);
	}
	if (r->n_rows >= REPORT_MAX_ROWS) {
		r->rows_dropped++;
		return;
	}
	fill_row(&r->rows[r->n_rows++], f, protocol);
}

/* ---- writing ---- */

/* Text from the wire (or anything else) as HTML character data. */
static void html_text(FILE *fp, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '&')
			fputs("&amp;", fp);
		else if (c == '<')
			fputs("&lt;", fp);
		else if (c == '>')
			fputs("&gt;", fp);
		else if (c == '"')
			fputs("&quot;", fp);
		else if (c == '\'')
			fputs("&#39;", fp);
		else if (c < 0x20 && c != '\n')
			fputc('.', fp);
		else
			fputc(c, fp);
	}
}

static const char style[] =
    "body{font-family:system-ui,sans-serif;font-size:18px;margin:1.5em;color:#111;"
    "background:#fff}\n"
    "h1{font-size:2em;margin:0 0 .2em}h2{font-size:1.4em;margin:1.4em 0 .5em;"
    "border-bottom:2px solid #ddd}\n"
    ".cards{display:flex;flex-wrap:wrap;gap:1em}.card{border:1px solid #ccc;"
    "border-radius:8px;padding:.6em 1em;min-width:9em}.card b{display:block;font-size:1.6em}\n"
    ".charts,.ladders{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));"
    "gap:1.5em}\n"
    "svg text{font-family:ui-monospace,monospace;font-size:14px}\n"
    ".bar{fill:#2b6cb0}.bar2{fill:#c05621}.axis{stroke:#999}\n"
    ".ladder .life{stroke:#444;stroke-width:2}.ladder .h{font-weight:bold}\n"
    ".ladder line.c2s{stroke:#2b6cb0;stroke-width:2}.ladder line.s2c{stroke:#c05621;"
    "stroke-width:2}.ladder line.bad{stroke:#c53030;stroke-width:2;stroke-dasharray:6 3}\n"
    ".ladder marker.c2s{fill:#2b6cb0}.ladder marker.s2c{fill:#c05621}.ladder marker.bad"
    "{fill:#c53030}\n"
    ".ladder .l{text-anchor:middle}.ladder .s{fill:#555;text-anchor:middle;font-style:italic}"
    ".ladder .t{fill:#777}\n"
    "ul.prose{font-size:16px;background:#f7f7f7;padding:.6em .6em .6em 1.8em}\n"
    "table{border-collapse:collapse;width:100%;font-size:15px}th,td{border:1px solid #ddd;"
    "padding:.25em .4em;text-align:left;vertical-align:top}th{background:#eee;cursor:pointer;"
    "position:sticky;top:0}\n"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}.alert{color:#c53030;"
    "font-weight:bold}\n"
    ".finding{border-left:5px solid #c53030;padding:.3em .8em;margin:.8em 0;"
    "background:#fff5f5}\n"
    "input#filter{font-size:1em;padding:.3em;width:20em}\n"
    "@media print{th{position:static}input#filter{display:none}body{font-size:12pt}}\n";

static const char script[] =
    "(function(){\n"
    "function check(){\n"
    " var bad=[];\n"
    " document.querySelectorAll('svg.chart').forEach(function(s){\n"
    "  if(s.querySelectorAll('rect.bar,rect.bar2').length===0)bad.push('empty chart '+s.id);});\n"
    " var t=document.getElementById('sessions');\n"
    " if(t.tBodies[0].rows.length!==parseInt(t.getAttribute('data-rows'),10))"
    "bad.push('table rows');\n"
    " document.body.setAttribute('data-check',bad.length?'error: '+bad.join(', '):'ok');\n"
    "}\n"
    "window.addEventListener('error',function(e){document.body.setAttribute('data-check',"
    "'error: '+e.message);});\n"
    "var table=document.getElementById('sessions');\n"
    "table.querySelectorAll('th').forEach(function(th,i){th.addEventListener('click',"
    "function(){\n"
    "  var body=table.tBodies[0],rows=Array.prototype.slice.call(body.rows);\n"
    "  var dir=th.getAttribute('data-dir')==='1'?-1:1;th.setAttribute('data-dir',"
    "dir===1?'1':'0');\n"
    "  rows.sort(function(a,b){var x=a.cells[i].getAttribute('data-v')||a.cells[i]."
    "textContent,\n"
    "   y=b.cells[i].getAttribute('data-v')||b.cells[i].textContent,nx=parseFloat(x),"
    "ny=parseFloat(y);\n"
    "   if(!isNaN(nx)&&!isNaN(ny))return (nx-ny)*dir;return x.localeCompare(y)*dir;});\n"
    "  rows.forEach(function(r){body.appendChild(r);});});});\n"
    "document.getElementById('filter').addEventListener('input',function(){\n"
    " var q=this.value.toLowerCase();\n"
    " Array.prototype.forEach.call(table.tBodies[0].rows,function(r){\n"
    "  r.style.display=r.textContent.toLowerCase().indexOf(q)>=0?'':'none';});});\n"
    "check();\n"
    "})();\n";

static void write_head(FILE *fp, const char *inputs)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width\">\n<title>portolan: ",
	      fp);
	html_text(fp, inputs);
	fprintf(fp, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", style);
	fputs("<h1>portolan report</h1>\n<p>", fp);
	html_text(fp, inputs);
	fputs("</p>\n", fp);
}

static void card(FILE *fp, const char *label, const char *value)
{
	fprintf(fp, "<div class=\"card\"><b>%s</b>%s</div>\n", value, label);
}

static void write_summary(FILE *fp, const struct report *r, const struct pipeline *pl)
{
	char v[64];
	fputs("<h2>Summary</h2>\n<div class=\"cards\">\n", fp);
	snprintf(v, sizeof v, "%" PRIu64, pl->packets);
	card(fp, "packets", v);
	snprintf(v, sizeof v, "%" PRIu64, pl->bytes);
	card(fp, "bytes", v);
	snprintf(v, sizeof v, "%" PRIu64, r->tcp + r->udp);
	card(fp, "sessions", v);
	snprintf(v, sizeof v, "%" PRIu64 " / %" PRIu64, r->tcp, r->udp);
	card(fp, "TCP / UDP sessions", v);
	snprintf(v, sizeof v, "%.3f s",
	         pl->last_ts > pl->first_ts
	             ? (double)(pl->last_ts - pl->first_ts) / (double)USEC_PER_SEC
	             : 0.0);
	card(fp, "capture span", v);
	fputs("</div>\n", fp);
	if (r->rows_dropped)
		fprintf(fp,
		        "<p>The table holds the first %d sessions; %" PRIu64 " more are counted "
		        "in the charts only.</p>\n",
		        REPORT_MAX_ROWS, r->rows_dropped);
}

struct bar {
	const char *label;
	uint64_t value;
};

static int bar_compare(const void *a, const void *b)
{
	const struct bar *x = a, *y = b;
	if (x->value != y->value)
		return x->value < y->value ? 1 : -1;
	return strcmp(x->label, y->label);
}

/* A horizontal bar chart as inline SVG. */
static void bar_chart(FILE *fp, const char *id, const char *title, const struct bar *bars, size_t n,
                      const char *cls)
{
	uint64_t max = 1;
	for (size_t i = 0; i < n; i++)
		if (bars[i].value > max)
			max = bars[i].value;
	unsigned height = 40 + (unsigned)n * 28;
	fprintf(fp,
	        "<figure><svg class=\"chart\" id=\"%s\" "
	        "viewBox=\"0 0 560 %u\" role=\"img\" aria-label=\"%s\">\n",
	        id, height, title);
	fprintf(fp, "<text x=\"0\" y=\"18\" style=\"font-weight:bold\">%s</text>\n", title);
	for (size_t i = 0; i < n; i++) {
		unsigned y = 32 + (unsigned)i * 28;
		unsigned w = (unsigned)(300.0 * (double)bars[i].value / (double)max);
		fprintf(fp, "<text x=\"0\" y=\"%u\">", y + 15);
		html_text(fp, bars[i].label);
		fprintf(fp,
		        "</text><rect class=\"%s\" x=\"190\" y=\"%u\" width=\"%u\" height=\"20\"/>"
		        "<text x=\"%u\" y=\"%u\">%" PRIu64 "</text>\n",
		        cls, y, w ? w : 1, 196 + w, y + 15, bars[i].value);
	}
	fputs("</svg></figure>\n", fp);
}

static void write_charts(FILE *fp, const struct report *r, const struct pipeline *pl)
{
	struct bar bars[COUNTERS_MAX];
	size_t n = 0;
	for (size_t i = 0; i < pl->protocols.n && n < COUNTERS_MAX; i++)
		bars[n++] = (struct bar){pl->protocols.items[i].name, pl->protocols.items[i].value};
	qsort(bars, n, sizeof bars[0], bar_compare);
	fputs("<h2>What was on the wire</h2>\n<div class=\"charts\">\n", fp);
	bar_chart(fp, "protocols", "Sessions by protocol", bars, n, "bar");
	struct bar classes[6] = {
	    {"server 0-1023", r->server_class[0]},      {"server 1024-49151", r->server_class[1]},
	    {"server 49152-65535", r->server_class[2]}, {"client 0-1023", r->client_class[0]},
	    {"client 1024-49151", r->client_class[1]},  {"client 49152-65535", r->client_class[2]},
	};
	bar_chart(fp, "ports", "Port classes (IANA)", classes, 6, "bar2");
	fputs("</div>\n<p>IANA's ranges: 0-1023 well-known, 1024-49151 registered, 49152-65535 "
	      "dynamic. Client ports are the operating system's choice: Linux uses 32768-60999 "
	      "(inside the registered range), Windows 49152-65535.</p>\n",
	      fp);
}

static void write_card(FILE *fp, const char *protocol)
{
	struct teach_card c;
	if (!teach_card_lookup(protocol, &c))
		return;
	fputs("<p>", fp);
	html_text(fp, c.what);
	if (c.cleartext) {
		fputs(" <b>In clear on the wire:</b> ", fp);
		html_text(fp, c.cleartext);
		fputs(".", fp);
	}
	if (c.instead) {
		fputs(" <b>Secure alternative:</b> ", fp);
		html_text(fp, c.instead);
		fputs(".", fp);
	}
	if (c.note) {
		fputs(" <b>Note:</b> ", fp);
		html_text(fp, c.note);
	}
	fputs("</p>\n", fp);
}

static void alert_list(FILE *fp, uint32_t alerts)
{
	bool first = true;
	for (int a = 0; a < ALERT_COUNT; a++) {
		if (!(alerts & (1u << a)))
			continue;
		fprintf(fp, "%s<span class=\"alert\">%s</span>", first ? "" : " ",
		        alert_name((enum alert)a));
		first = false;
	}
}

static void write_findings(FILE *fp, const struct report *r)
{
	const uint32_t teaching = (1u << ALERT_CLEARTEXT_CREDENTIALS) |
	                          (1u << ALERT_INSECURE_PROTOCOL) |
	                          (1u << ALERT_NON_STANDARD_PORT) |
	                          (1u << ALERT_DEPRECATED_VERSION) | (1u << ALERT_WEAK_SECURITY);
	unsigned shown = 0;
	fputs("<h2>Insecure findings</h2>\n", fp);
	for (size_t i = 0; i < r->n_rows && shown < REPORT_MAX_FINDINGS; i++) {
		const struct row *w = &r->rows[i];
		if (!(w->alerts & teaching))
			continue;
		shown++;
		fputs("<div class=\"finding\"><p><b>", fp);
		html_text(fp, w->protocol);
		fprintf(fp, "</b> %s ", transport_label(w->transport));
		html_text(fp, w->client);
		fprintf(fp, ":%u &rarr; ", w->client_port);
		html_text(fp, w->server);
		fprintf(fp, ":%u ", w->server_port);
		alert_list(fp, w->alerts);
		fputs("</p>\n", fp);
		write_card(fp, w->protocol);
		fputs("</div>\n", fp);
	}
	if (!shown)
		fputs("<p>None: no cleartext credentials, insecure protocols or non-standard ports "
		      "were seen.</p>\n",
		      fp);
}

/* The explanation's bullets ("  * " starts one, "    " continues it) as a
 * list; the browser does the wrapping. */
static void write_prose(FILE *fp, const char *prose)
{
	bool open = false;
	fputs("<ul class=\"prose\">", fp);
	while (*prose) {
		const char *end = strchr(prose, '\n');
		size_t n = end ? (size_t)(end - prose) : strlen(prose);
		char line[256];
		snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1),
		         prose);
		if (!strncmp(line, "  * ", 4)) {
			fputs(open ? "</li>\n<li>" : "\n<li>", fp);
			open = true;
			html_text(fp, line + 4);
		} else if (open && !strncmp(line, "    ", 4)) {
			fputc(' ', fp);
			html_text(fp, line + 4);
		}
		prose += n + (end ? 1 : 0);
	}
	fputs(open ? "</li></ul>\n" : "</ul>\n", fp);
}

static void write_example(FILE *fp, const struct example *x, const char *what)
{
	fputs("<div>\n", fp);
	if (!x->svg) {
		fprintf(fp, "<p>No %s session in this capture.</p></div>\n", what);
		return;
	}
	fputs("<h3>", fp);
	html_text(fp, x->title);
	fprintf(fp, "</h3>\n%s", x->svg);
	write_prose(fp, x->prose);
	fputs("</div>\n", fp);
}

static void write_ladders(FILE *fp, const struct report *r)
{
	fputs("<h2>TCP's handshake beside UDP's bare datagrams</h2>\n<div class=\"ladders\">\n",
	      fp);
	write_example(fp, &r->tcp_example, "TCP");
	write_example(fp, &r->udp_example, "UDP");
	fputs("</div>\n", fp);
}

static void write_row(FILE *fp, const struct row *w)
{
	fputs("<tr><td>", fp);
	html_text(fp, w->uid);
	fprintf(fp, "</td><td>%s</td><td>", transport_label(w->transport));
	html_text(fp, w->client);
	fprintf(fp, "</td><td class=\"n\">%u</td><td>", w->client_port);
	html_text(fp, w->server);
	fprintf(fp, "</td><td class=\"n\">%u</td><td>", w->server_port);
	html_text(fp, w->protocol);
	fputs("</td><td>", fp);
	html_text(fp, w->state);
	fprintf(fp,
	        "</td><td class=\"n\">%.3f</td><td class=\"n\">%" PRIu64
	        "</td><td class=\"n\">%" PRIu64 "</td><td>",
	        w->duration, w->bytes[0], w->bytes[1]);
	html_text(fp, w->summary);
	fputs("</td><td>", fp);
	alert_list(fp, w->alerts);
	fputs("</td></tr>\n", fp);
}

static void write_table(FILE *fp, const struct report *r)
{
	fprintf(fp,
	        "<h2>Sessions</h2>\n<p><input id=\"filter\" type=\"search\" "
	        "placeholder=\"filter the table\" aria-label=\"filter\"> Click a column to sort."
	        "</p>\n<table id=\"sessions\" "
	        "data-rows=\"%zu\"><thead><tr><th>uid</th><th>transport</th>"
	        "<th>client</th><th>port</th><th>server</th><th>port</th><th>protocol</th>"
	        "<th>state</th><th>seconds</th><th>client bytes</th><th>server bytes</th>"
	        "<th>summary</th><th>alerts</th></tr></thead>\n<tbody>\n",
	        r->n_rows);
	for (size_t i = 0; i < r->n_rows; i++)
		write_row(fp, &r->rows[i]);
	fputs("</tbody></table>\n", fp);
}

int report_write(const struct report *r, const struct pipeline *pl, const char *path,
                 const char *inputs, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "w");
	if (!fp) {
		snprintf(err, errlen, "%s: cannot write the report", path);
		return -1;
	}
	write_head(fp, inputs);
	write_summary(fp, r, pl);
	write_charts(fp, r, pl);
	write_findings(fp, r);
	write_ladders(fp, r);
	write_table(fp, r);
	fprintf(fp, "<script>\n%s</script>\n</body></html>\n", script);
	if (fclose(fp) != 0) {
		snprintf(err, errlen, "%s: write failed", path);
		return -1;
	}
	return 0;
}

"""Corpus conformance scorer for portolan (library behind scripts/conformance).

Runs portolan on every capture of the real-world corpus and counts how many of the facts
that tshark found (the truth files) portolan's JSON Lines session records also carry.
The counting rule is the corpus's SCORING.md; this module follows it to the letter and
says in comments where the truth files' spelling of a field needs interpreting.

Standard library only, so it runs wherever the C project builds.
"""

import argparse
import concurrent.futures
import hashlib
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

# --------------------------------------------------------------------------------------
# The accepted-names table of SCORING.md: a session counts for a truth protocol when its
# "protocol" is one of these names or when it carries an object under one of them.
# --------------------------------------------------------------------------------------
ACCEPTED = {
    "dns": ("dns", "mdns", "llmnr"),
    "http": ("http",),
    "tls": ("tls",),
    "quic": ("quic",),
    "smtp": ("smtp",),
    "ftp": ("ftp",),
    "pop3": ("pop3",),
    "imap": ("imap",),
    "snmp": ("snmp",),
    "ldap": ("ldap", "cldap"),
    "rdp": ("rdp",),
    "ssh": ("ssh",),
    "telnet": ("telnet",),
    "ntp": ("ntp",),
    "sip": ("sip",),
    "mysql": ("mysql",),
    "kerberos": ("kerberos", "krb5"),
    "dhcp": ("dhcp",),
    "netbios": ("netbios-ns", "netbios-dgm", "netbios-ssn"),
    "smb": ("smb",),
    "tds": ("tds",),
}
# Table order = the order of SCORING.md, so the report reads like the rule.
PROTO_ORDER = list(ACCEPTED)

DEFAULT_TIMEOUT = 120.0
EPSILON = 1e-6


def accepted_names(proto):
    """Names that count for a truth protocol; a protocol not in the table accepts its own name."""
    return ACCEPTED.get(proto, (proto,))


# --------------------------------------------------------------------------------------
# Truth files
# --------------------------------------------------------------------------------------

@dataclass
class ValueFact:
    display: str                                  # the value as the truth spells it (after extraction)
    alternatives: set = field(default_factory=set)  # lower-cased spellings that count as this value
    frames: list = field(default_factory=list)
    fields: set = field(default_factory=set)


@dataclass
class TruthFile:
    """The facts of one truth/<capture>.<proto>.tsv."""
    capture: str
    proto: str
    flows: dict = field(default_factory=dict)      # flow key -> [frame numbers]
    values: dict = field(default_factory=dict)     # lower-cased value -> ValueFact
    endpoints: set = field(default_factory=set)    # every row's flow key, for false positives


def read_tsv(path):
    """Rows of a tshark fields TSV as dicts.

    Split on '\\n' only: str.splitlines() would also split on \\x0b, \\x1c, \\x85 ...
    which tshark may leave inside a field value.
    """
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        lines = fh.read().split("\n")
    header = lines[0].rstrip("\r").split("\t")
    rows = []
    for line in lines[1:]:
        if line:
            cells = line.split("\t")
            cells += [""] * (len(header) - len(cells))
            rows.append(dict(zip(header, cells)))
    return rows


def last_item(cell):
    """Innermost of a comma-joined address/port column (tshark lists outer layers first)."""
    return cell.split(",")[-1].strip() if cell else ""


def norm_ip(text):
    """Canonical spelling so that tshark's and portolan's addresses compare equal."""
    text = text.strip().strip("[]")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text.lower()


def row_flow_key(row):
    """(transport, frozenset of two (ip, port)) for a truth row, or None without ports.

    When both an IPv4 and an IPv6 column are filled the packet is a tunnel; the corpus has
    only 6in4 (ndpi__6in4tunnel: IPv4 outside, IPv6 inside - its conv.txt lists the IPv6
    pairs), so IPv6 is taken as the innermost. A 4in6 tunnel would need frame.protocols,
    which the truth files do not keep.
    """
    if row.get("tcp.srcport"):
        transport, sport, dport = "tcp", row["tcp.srcport"], row.get("tcp.dstport", "")
    elif row.get("udp.srcport"):
        transport, sport, dport = "udp", row["udp.srcport"], row.get("udp.dstport", "")
    else:
        return None
    src = last_item(row.get("ipv6.src", "")) or last_item(row.get("ip.src", ""))
    dst = last_item(row.get("ipv6.dst", "")) or last_item(row.get("ip.dst", ""))
    try:
        a = (norm_ip(src), int(last_item(sport)))
        b = (norm_ip(dst), int(last_item(dport)))
    except ValueError:
        return None
    return (transport, frozenset((a, b)))


def format_flow_key(key):
    transport, ends = key
    if transport == "dhcp-capture":
        return "one DHCP exchange in the capture"
    def one(end):
        ip, port = end
        return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
    ends = sorted(ends)
    if len(ends) == 1:
        ends = ends * 2
    return f"{transport} {one(ends[0])} <-> {one(ends[1])}"


# ---- helpers for comma-joined value columns (tshark -E occurrence=a -E aggregator=,) ----

def split_list(cell):
    return [p.strip() for p in cell.split(",")] if cell else []


def aligned_split(cell, count):
    """Split a comma-joined column into `count` values only when that is unambiguous.

    A single request's value is never split, because values such as URIs and user agents
    may contain commas themselves (ndpi__http_ua_splitted_in_two_pkts's user agent does).
    """
    if count <= 1:
        return [cell]
    parts = cell.split(",")
    return parts if len(parts) == count else [cell]


def pair_commands(cmd_cell, param_cell):
    """Pair each command of a row with its parameter.

    tshark leaves commands without a parameter out of the parameter column, so for a
    pipelined row such as smtp "RCPT,DATA" / "To:<x>" the parameters are paired in order
    (commands without a parameter - DATA, QUIT - come last in practice). When there are
    more parameter pieces than commands a parameter contained a comma: unpairable, skipped.
    """
    cmds = split_list(cmd_cell)
    if len(cmds) <= 1:
        return [(cmds[0] if cmds else "", param_cell)]
    parts = param_cell.split(",") if param_cell else []
    if len(parts) > len(cmds):
        return []
    return list(zip(cmds, parts + [""] * (len(cmds) - len(parts))))


# ---- per-protocol extraction of the "Minimum value fields" of SCORING.md ----
# Each extractor returns (value, extra spellings, field name) triples for one row.

DNS_PLACEHOLDER = re.compile(r"^<[^<>]*>$")


def dns_unescapes(name):
    """Raw spellings of a name in which tshark escaped non-printable label bytes as \\NNN
    (and a literal dot or backslash with a backslash), so that a portolan writing the raw
    bytes (JSON \\u0004) also matches. Whether NNN is octal (format_text) or decimal
    (RFC 1035) is not documented for tshark 4.0; both readings are accepted (for the
    corpus's bytes, 001-006, they agree)."""
    def decode(base):
        def one(m):
            esc = m.group(1)
            if len(esc) == 3:
                try:
                    return chr(int(esc, base))
                except ValueError:
                    return esc
            return esc
        return re.sub(r"\\(\d{3}|.)", one, name)
    return {decode(8), decode(10)} - {name}


def values_dns(row):
    # dns.qry.name: several questions (or several messages in one TCP segment) are
    # comma-joined; host names carry no commas, so split. tshark's placeholders
    # "<Root>", "<Name too long>", "<Name contains a pointer that loops>" are not names
    # on the wire, so they are not value facts.
    out = []
    for name in split_list(row.get("dns.qry.name", "")):
        if name and not DNS_PLACEHOLDER.match(name):
            out.append((name, dns_unescapes(name), "dns.qry.name"))
    return out


def values_http(row):
    # http.host: host names carry no commas, split freely. http.request.uri: split only
    # when the row holds as many requests (http.request.method values) as pieces.
    out = [(h, set(), "http.host") for h in split_list(row.get("http.host", "")) if h]
    n_requests = len(split_list(row.get("http.request.method", "")))
    uri = row.get("http.request.uri", "")
    if uri:
        out += [(u, set(), "http.request.uri") for u in aligned_split(uri, n_requests) if u]
    return out


def values_tls(row):
    # SNI is a host name: no commas, split (a frame may hold two ClientHellos).
    f = "tls.handshake.extensions_server_name"
    return [(s, set(), f) for s in split_list(row.get(f, "")) if s]


ANGLE_ADDR = re.compile(r"<([^<>]*)>")


def values_smtp(row):
    # MAIL/RCPT: only the address inside <...> ("FROM: <a@b>", "From:<a@b> SIZE=695");
    # the null sender <> gives nothing. HELO/EHLO: the whole argument, e.g.
    # "[192.168.133.100]" or "[IPv6:2003:...]" kept as written.
    out = []
    cmds = [c.upper() for c in split_list(row.get("smtp.req.command", ""))]
    param = row.get("smtp.req.parameter", "")
    if "MAIL" in cmds or "RCPT" in cmds:
        out += [(a.strip(), set(), "smtp.req.parameter")
                for a in ANGLE_ADDR.findall(param) if a.strip()]
    for cmd, arg in pair_commands(row.get("smtp.req.command", ""), param):
        if cmd.upper() in ("HELO", "EHLO") and arg.strip():
            out.append((arg.strip(), set(), "smtp.req.parameter"))
    return out


def user_argument(row, cmd_col, arg_col):
    """The argument of a USER command (ftp, pop3), paired with its command."""
    return [(arg.strip(), set(), arg_col)
            for cmd, arg in pair_commands(row.get(cmd_col, ""), row.get(arg_col, ""))
            if cmd.upper() == "USER" and arg.strip()]


def values_ftp(row):
    return user_argument(row, "ftp.request.command", "ftp.request.arg")


def values_pop3(row):
    return user_argument(row, "pop.request.command", "pop.request.parameter")


IMAP_LOGIN = re.compile(r'(?:^|,)\s*\S+\s+LOGIN\s+(?:"((?:[^"\\]|\\.)*)"|([^\s"{(]+))', re.I)


def values_imap(row):
    # imap.request is the whole line: 'a0001 LOGIN "neulingern" "XXXXXX"'. The user is the
    # first argument, a quoted string (unescaped here) or an atom. A literal ({5}) sends the
    # user on a continuation line that the field does not hold: no fact then.
    out = []
    for m in IMAP_LOGIN.finditer(row.get("imap.request", "")):
        if m.group(1) is not None:
            user = re.sub(r"\\(.)", r"\1", m.group(1))
        else:
            user = m.group(2)
        if user:
            out.append((user, set(), "imap.request"))
    return out


def values_snmp(row):
    # One SNMP message per datagram, and a community may contain a comma: never split.
    return [(row[f], set(), f) for f in ("snmp.community", "snmp.msgUserName") if row.get(f)]


def values_dhcp(row):
    # dhcp.hw.mac_addr is often listed twice (chaddr and the client identifier option):
    # split and let the per-capture distinct set fold them.
    return [(m, set(), "dhcp.hw.mac_addr") for m in split_list(row.get("dhcp.hw.mac_addr", "")) if m]


NB_DESCRIPTION = re.compile(r"\s+\([^()]*\)$")
NB_SUFFIX = re.compile(r"^(.*)<([0-9A-Fa-f]{2})>$")
NB_BYTE = re.compile(r"<([0-9A-Fa-f]{2})>")


def values_netbios(row):
    # nbns.name: question and answer names comma-joined ("MDJR98<03>,MDJR98<03> (Messenger
    # service/Main name)"); NetBIOS names cannot contain commas, so split. Drop tshark's
    # " (service)" description, then the <xx> suffix. tshark also spells other
    # non-printable bytes as <xx> ("<01><02>__MSBROWSE__<02>", "*<00><00>..."): the bytes
    # themselves, and those with NUL/space padding stripped ("*"), also count.
    out = []
    for item in split_list(row.get("nbns.name", "")):
        item = NB_DESCRIPTION.sub("", item)
        m = NB_SUFFIX.match(item)
        name = m.group(1) if m else item
        if not name:
            continue
        raw = NB_BYTE.sub(lambda b: chr(int(b.group(1), 16)), name)
        out.append((name, {raw, raw.rstrip("\x00 ")} - {""}, "nbns.name"))
    return out


def values_smb(row):
    # smb2.tree is a UNC path ("\\\\host\\share"); several are comma-joined and a share name
    # may hold a comma, so split only where the next path starts.
    return [(t, set(), "smb2.tree")
            for t in re.split(r",(?=\\\\)", row.get("smb2.tree", "")) if t]


def values_ldap(row):
    # DNs contain commas ("cn=admin,dc=example,dc=com"): never split. ldap.name counts only
    # on a bindRequest row (protocolOp 0); an empty (anonymous) bind name gives nothing.
    out = []
    if "0" in split_list(row.get("ldap.protocolOp", "")) and row.get("ldap.name"):
        out.append((row["ldap.name"], set(), "ldap.name"))
    if row.get("ldap.baseObject"):
        out.append((row["ldap.baseObject"], set(), "ldap.baseObject"))
    return out


def values_rdp(row):
    # "Cookie: mstshash=JOHN-PC  ": the fact is the mstshash value, trimmed (the trailing
    # blanks are on the wire; a record that keeps them still contains the trimmed value).
    # SCORING.md also accepts the whole cookie, with or without its "Cookie: " prefix.
    cookie = row.get("rdp.rt_cookie", "")
    if not cookie.strip():
        return []
    bare = re.sub(r"^\s*Cookie:\s*", "", cookie, flags=re.I)
    m = re.search(r"mstshash=(.*)$", bare, re.I)
    value = (m.group(1) if m else bare).strip()
    if not value:
        return []
    return [(value, {cookie, cookie.strip(), bare, bare.strip()}, "rdp.rt_cookie")]


def values_ssh(row):
    # A banner may contain a comma in its comment part, and a frame holds one banner.
    v = row.get("ssh.protocol", "").strip()
    return [(v, set(), "ssh.protocol")] if v else []


VALUE_EXTRACTORS = {
    "dns": values_dns, "http": values_http, "tls": values_tls, "smtp": values_smtp,
    "ftp": values_ftp, "pop3": values_pop3, "imap": values_imap, "snmp": values_snmp,
    "dhcp": values_dhcp, "netbios": values_netbios, "smb": values_smb, "ldap": values_ldap,
    "rdp": values_rdp, "ssh": values_ssh,
}

# DHCP has one flow fact per capture (its exchange crosses address pairs).
DHCP_KEY = ("dhcp-capture", frozenset())


def add_value(truth, value, extra, fld, frame):
    key = value.lower()
    fact = truth.values.setdefault(key, ValueFact(display=value))
    fact.alternatives |= {key} | {e.lower() for e in extra if e}
    fact.fields.add(fld)
    if frame not in fact.frames:
        fact.frames.append(frame)


def parse_truth_file(path, capture, proto):
    truth = TruthFile(capture, proto)
    extract = VALUE_EXTRACTORS.get(proto)
    for row in read_tsv(path):
        frame = row.get("frame.number", "?")
        key = row_flow_key(row)
        if key is not None:
            truth.endpoints.add(key)     # DHCP too: its rows list every pair it used
            flow = DHCP_KEY if proto == "dhcp" else key
            truth.flows.setdefault(flow, []).append(frame)
        if extract:
            for value, extra, fld in extract(row):
                add_value(truth, value, extra, fld, frame)
    return truth


TRUTH_NAME = re.compile(r"^(?P<capture>.+)\.(?P<proto>[a-z0-9]+)\.tsv$")


def load_truth(truth_dir):
    """{capture: {proto: TruthFile}} from truth/<capture>.<proto>.tsv.

    INDEX.tsv and decode_as.tsv have no "<capture>.<proto>" shape and are skipped.
    """
    truth = {}
    for name in sorted(os.listdir(truth_dir)):
        m = TRUTH_NAME.match(name)
        if not m:
            continue
        capture, proto = m.group("capture"), m.group("proto")
        truth.setdefault(capture, {})[proto] = parse_truth_file(
            os.path.join(truth_dir, name), capture, proto)
    return truth


def load_decode_as(truth_dir):
    """Captures for which tshark needed a decode-as, shown next to their misses."""
    path = os.path.join(truth_dir, "decode_as.tsv")
    notes = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if "\t" in line:
                    name, arg = line.rstrip("\n").split("\t", 1)
                    notes.setdefault(name, []).append(arg)
    return notes


# --------------------------------------------------------------------------------------
# Running portolan
# --------------------------------------------------------------------------------------

@dataclass
class RunResult:
    capture: str
    records: list                 # session records only
    failure: str = ""             # why the run counts as finding nothing ("" = ok)


def parse_json_lines(data):
    """Session records from portolan's stdout; anything else is ignored.

    Only "type": "session" records are scored: SCORING.md counts DHCP through session
    records too ("found when any session record is DHCP"), so "dhcp" and "stats" records
    play no part.
    """
    records = []
    for raw in data.split(b"\n"):
        try:
            rec = json.loads(raw.decode("utf-8", errors="replace"))
        except (ValueError, RecursionError):
            continue
        if isinstance(rec, dict) and rec.get("type") == "session":
            records.append(rec)
    return records


def describe_exit(code):
    return f"killed by signal {-code}" if code < 0 else f"exit status {code}"


def run_portolan(portolan, pcap_path, timeout):
    """Run portolan on one capture; a crash, hang or non-zero exit finds nothing."""
    capture = os.path.basename(pcap_path)
    if not os.path.exists(pcap_path):
        return RunResult(capture, [], "capture file missing")
    try:
        proc = subprocess.run([portolan, "-r", pcap_path, "--json"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        return RunResult(capture, [], f"timed out after {timeout:g} s")
    except OSError as err:
        return RunResult(capture, [], f"could not start: {err}")
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
        detail = f" ({tail[0][:160]})" if tail else ""
        return RunResult(capture, [], describe_exit(proc.returncode) + detail)
    return RunResult(capture, parse_json_lines(proc.stdout))


def run_all(portolan, pcap_dir, captures, timeout, jobs):
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(run_portolan, portolan, os.path.join(pcap_dir, c), timeout)
                   for c in captures]
        return {r.capture: r for r in (f.result() for f in futures)}


# --------------------------------------------------------------------------------------
# Matching records against facts
# --------------------------------------------------------------------------------------

def record_flow_key(rec):
    try:
        c, s = rec["client"], rec["server"]
        ends = frozenset(((norm_ip(str(c["ip"])), int(c["port"])),
                          (norm_ip(str(s["ip"])), int(s["port"]))))
        return (str(rec["transport"]).lower(), ends)
    except (KeyError, TypeError, ValueError):
        return None


def has_object(rec, names):
    """True when the record carries an object under one of `names`, at the top level or
    one level down (QUIC puts the ClientHello's facts under quic.tls)."""
    for name in names:
        if isinstance(rec.get(name), dict):
            return True
    for value in rec.values():
        if isinstance(value, dict) and any(isinstance(value.get(n), dict) for n in names):
            return True
    return False


def label(rec):
    return str(rec.get("protocol") or "").lower()


def counts_for(rec, proto):
    names = accepted_names(proto)
    return label(rec) in names or has_object(rec, names)


def string_values(obj):
    """Every string value in a record, lower-cased (keys are not values)."""
    if isinstance(obj, str):
        yield obj.lower()
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from string_values(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from string_values(v)


class CaptureView:
    """portolan's records for one capture, indexed for the scoring questions."""

    def __init__(self, records):
        self.records = records
        self.keys = [record_flow_key(r) for r in records]
        self.all_strings = set()
        self.strings = []
        for r in records:
            s = set(string_values(r))
            self.strings.append(s)
            self.all_strings |= s

    def flow_found(self, proto, key):
        if key == DHCP_KEY:
            return any(counts_for(r, proto) for r in self.records)
        return any(k == key and counts_for(r, proto) for r, k in zip(self.records, self.keys))

    def value_found(self, proto, fact):
        if fact.alternatives & self.all_strings:
            return True
        for rec, strings in zip(self.records, self.strings):
            if counts_for(rec, proto) and any(a in s for a in fact.alternatives for s in strings):
                return True
        return False


# --------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------

@dataclass
class ProtoScore:
    proto: str
    flows_expected: int = 0
    flows_found: int = 0
    values_expected: int = 0
    values_found: int = 0
    false_positives: int = 0
    misses: list = field(default_factory=list)   # (capture, kind, text, fields, frames)
    fp_list: list = field(default_factory=list)  # (capture, text)

    @property
    def facts(self):
        return self.flows_expected + self.values_expected

    @property
    def found(self):
        return self.flows_found + self.values_found

    @property
    def percent(self):
        # A protocol with no facts at all cannot be judged; 0 keeps it from looking good.
        return 100.0 * self.found / self.facts if self.facts else 0.0


def score_truth_file(score, truth, view):
    for key, frames in truth.flows.items():
        score.flows_expected += 1
        if view.flow_found(truth.proto, key):
            score.flows_found += 1
        else:
            score.misses.append((truth.capture, "flow", format_flow_key(key), [], frames))
    for fact in truth.values.values():
        score.values_expected += 1
        if view.value_found(truth.proto, fact):
            score.values_found += 1
        else:
            score.misses.append((truth.capture, "value", json.dumps(fact.display),
                                 sorted(fact.fields), fact.frames))


def count_false_positives(score, capture, capture_truth, view):
    """Records labelled (by "protocol") with this truth protocol whose endpoints no truth
    file of that protocol in this capture lists."""
    names = accepted_names(score.proto)
    truth = capture_truth.get(score.proto)
    listed = truth.endpoints if truth else set()
    for rec, key in zip(view.records, view.keys):
        if label(rec) in names and key not in listed:
            score.false_positives += 1
            where = format_flow_key(key) if key else "(no endpoints)"
            score.fp_list.append((capture, f"{where} protocol={label(rec)} uid={rec.get('uid')}"))


def score_all(truth, runs, protos):
    scores = {p: ProtoScore(p) for p in protos}
    for capture in sorted(set(truth) | set(runs)):
        run = runs.get(capture)
        view = CaptureView(run.records if run else [])
        capture_truth = truth.get(capture, {})
        for proto in protos:
            if proto in capture_truth:
                score_truth_file(scores[proto], capture_truth[proto], view)
            count_false_positives(scores[proto], capture, capture_truth, view)
    return scores


def total_of(scores):
    total = ProtoScore("TOTAL")
    for s in scores.values():
        total.flows_expected += s.flows_expected
        total.flows_found += s.flows_found
        total.values_expected += s.values_expected
        total.values_found += s.values_found
        total.false_positives += s.false_positives
    return total


# --------------------------------------------------------------------------------------
# JA3: checked against tshark's tls.handshake.ja3 on the corpus itself, since the truth
# files have none. Reported on its own line, never inside the minimum set or the TOTAL.
# --------------------------------------------------------------------------------------

JA3_FIELD = "tls.handshake.ja3"
JA3_CACHE_VERSION = 1


def find_tshark(explicit=None):
    """The tshark to use: --tshark, else $PORTOLAN_TSHARK, else tshark on PATH.
    Returns (path or None, what was asked for, for the skipped line)."""
    wanted = explicit or os.environ.get("PORTOLAN_TSHARK") or ""
    if not wanted:
        return shutil.which("tshark"), ""
    path = wanted if os.sep in wanted else shutil.which(wanted)
    if path and os.path.isfile(path) and os.access(path, os.X_OK):
        return path, wanted
    return None, wanted


def ja3_cache_dir():
    """$PORTOLAN_JA3_CACHE, else a per-user directory under the system temp dir."""
    env = os.environ.get("PORTOLAN_JA3_CACHE")
    if env:
        return env
    uid = getattr(os, "getuid", lambda: "")()
    return os.path.join(tempfile.gettempdir(), f"portolan-conformance-ja3-{uid}")


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tshark_identity(tshark):
    """Which tshark produced a cache entry: a changed binary (an upgrade) misses the cache."""
    real = os.path.realpath(tshark)
    try:
        st = os.stat(real)
        return f"{real}:{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        return real


def ja3_cache_path(cache_dir, sha256, decode_args, tshark):
    """Keyed by the capture's sha256; the -d options and the tshark binary are part of the
    key too, since they change what tshark finds in the same bytes."""
    extra = json.dumps([JA3_CACHE_VERSION, JA3_FIELD, decode_args, tshark_identity(tshark)])
    return os.path.join(cache_dir, f"{sha256}.{hashlib.sha256(extra.encode()).hexdigest()[:16]}.json")


def parse_ja3_output(text):
    """{ja3 (lower case): [frame numbers]} from `-T fields -e frame.number -e tls.handshake.ja3`
    output, in order of first appearance. A frame with several ClientHellos has its JA3
    values comma-joined (tshark's default aggregator); empty cells give nothing."""
    found = {}
    for line in text.split("\n"):
        frame, _, cell = line.rstrip("\r").partition("\t")
        for ja3 in split_list(cell):
            ja3 = ja3.lower()
            if not ja3:
                continue
            frames = found.setdefault(ja3, [])
            try:
                frame = int(frame)
            except ValueError:
                pass
            if frame not in frames:
                frames.append(frame)
    return found


@dataclass
class Ja3Capture:
    capture: str
    ja3: dict                     # ja3 (lower case) -> [frame numbers]
    problem: str = ""             # tshark's complaint, if any ("" = clean run)
    cached: bool = False


def run_tshark_ja3(tshark, pcap_path, decode_args, timeout):
    """(Ja3Capture, cacheable). Output is kept even when tshark exits non-zero (a capture
    cut short still yields its earlier frames); a timeout or failed start is not cached."""
    capture = os.path.basename(pcap_path)
    cmd = [tshark, "-n"]
    for arg in decode_args:
        cmd += ["-d", arg]
    cmd += ["-r", pcap_path, "-T", "fields", "-e", "frame.number", "-e", JA3_FIELD,
            "-E", "occurrence=a", "-E", "aggregator=,"]
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Ja3Capture(capture, {}, f"tshark timed out after {timeout:g} s"), False
    except OSError as err:
        return Ja3Capture(capture, {}, f"tshark could not start: {err}"), False
    problem = ""
    if proc.returncode != 0:
        lines = [l for l in proc.stderr.decode("utf-8", "replace").strip().splitlines()
                 if l and not l.startswith("Running as user")]
        detail = f" ({lines[-1][:160]})" if lines else ""
        problem = "tshark " + describe_exit(proc.returncode) + detail
    return Ja3Capture(capture, parse_ja3_output(proc.stdout.decode("utf-8", "replace")), problem), True


def ja3_for_capture(tshark, pcap_path, decode_args, timeout, cache_dir):
    """JA3 values of one capture, from the cache when the same bytes were seen before."""
    capture = os.path.basename(pcap_path)
    if not os.path.exists(pcap_path):
        return Ja3Capture(capture, {}, "capture file missing")
    cache = None
    try:
        cache = ja3_cache_path(cache_dir, file_sha256(pcap_path), decode_args, tshark)
        with open(cache, encoding="utf-8") as fh:
            data = json.load(fh)
        if data.get("version") == JA3_CACHE_VERSION and isinstance(data.get("ja3"), dict):
            return Ja3Capture(capture, data["ja3"], data.get("problem", ""), cached=True)
    except (OSError, ValueError):
        pass
    result, cacheable = run_tshark_ja3(tshark, pcap_path, decode_args, timeout)
    if cacheable and cache:
        try:
            os.makedirs(cache_dir, mode=0o700, exist_ok=True)
            tmp = f"{cache}.{os.getpid()}.tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump({"version": JA3_CACHE_VERSION, "capture": capture,
                           "decode_as": decode_args, "ja3": result.ja3,
                           "problem": result.problem}, fh)
            os.replace(tmp, cache)
        except OSError:
            pass                  # no cache: slower next time, same answer
    return result


def ja3_captures(truth):
    """The captures checked for JA3: those with a tls truth file."""
    return sorted(c for c, protos in truth.items() if "tls" in protos)


def collect_ja3(tshark, pcap_dir, captures, decode_as, timeout, jobs, cache_dir=None):
    cache_dir = cache_dir or ja3_cache_dir()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(ja3_for_capture, tshark, os.path.join(pcap_dir, c),
                               decode_as.get(c, []), timeout, cache_dir) for c in captures]
        return {r.capture: r for r in (f.result() for f in futures)}


@dataclass
class Ja3Score:
    status: str = "ok"                            # "ok" or "skipped"
    reason: str = ""                              # why skipped
    tshark: str = ""
    captures: int = 0
    cached: int = 0
    facts: int = 0
    found: int = 0
    misses: list = field(default_factory=list)    # (capture, ja3, frames)
    problems: dict = field(default_factory=dict)  # capture -> tshark's complaint

    @property
    def percent(self):
        return 100.0 * self.found / self.facts if self.facts else 0.0


def score_ja3(ja3_by_capture, runs, tshark=""):
    """Each distinct JA3 of a capture is one fact, found when it equals (ignoring case) a
    string value anywhere in portolan's session records for that capture."""
    js = Ja3Score(tshark=tshark, captures=len(ja3_by_capture))
    for capture in sorted(ja3_by_capture):
        result = ja3_by_capture[capture]
        js.cached += result.cached
        if result.problem:
            js.problems[capture] = result.problem
        run = runs.get(capture)
        strings = CaptureView(run.records if run else []).all_strings
        for ja3, frames in result.ja3.items():
            js.facts += 1
            if ja3.lower() in strings:
                js.found += 1
            else:
                js.misses.append((capture, ja3, frames))
    return js


def print_ja3(js, decode_as, verbose, out):
    if js.status != "ok":
        print(f"ja3: skipped ({js.reason})", file=out)
        return
    if verbose:
        for capture, ja3, frames in sorted(js.misses):
            note = f"  (tshark used -d {';'.join(decode_as[capture])})" if capture in decode_as else ""
            print(f"MISS  {capture}  ja3  value  \"{ja3}\" [{JA3_FIELD}]  frames {format_frames(frames)}{note}",
                  file=out)
    for capture, why in sorted(js.problems.items()):
        print(f"ja3: {capture}: {why}", file=out)
    print(f"ja3 (tshark {JA3_FIELD}): found {js.found} of {js.facts} ({floor_1dp(js):.1f}%)", file=out)


def ja3_json(js):
    if js.status != "ok":
        return {"status": js.status, "reason": js.reason}
    return {"status": "ok", "field": JA3_FIELD, "tshark": js.tshark, "captures": js.captures,
            "facts": js.facts, "found": js.found, "percent": round(js.percent, 4),
            "misses": [{"capture": c, "ja3": j, "frames": f} for c, j, f in sorted(js.misses)],
            "tshark_problems": dict(sorted(js.problems.items()))}


# --------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------

def floor_1dp(score):
    """Percent rounded DOWN to one decimal, in integers so 99.96 never prints as 100.0.
    Used for display and for --write-floors, so a written floor never exceeds the figure."""
    return (1000 * score.found // score.facts) / 10 if score.facts else 0.0


def format_frames(frames, cap=8):
    shown = ",".join(str(f) for f in frames[:cap])
    return shown + (f",... (+{len(frames) - cap})" if len(frames) > cap else "")


def print_misses(scores, decode_as, out):
    """-v: one self-contained line per miss and per false positive, sorted by capture, so
    each can be looked up in the capture and its truth file in one step."""
    misses, fps = [], []
    for rank, s in enumerate(scores.values()):
        for capture, kind, text, fields, frames in s.misses:
            fld = f" [{','.join(fields)}]" if fields else ""
            note = f"  (tshark used -d {';'.join(decode_as[capture])})" if capture in decode_as else ""
            misses.append(((capture, rank), f"MISS  {capture}  {s.proto}  {kind}  {text}{fld}"
                                            f"  frames {format_frames(frames)}{note}"))
        for capture, text in s.fp_list:
            fps.append(((capture, rank), f"FALSE+  {capture}  {s.proto}  {text}"))
    for _, line in sorted(misses) + sorted(fps):
        print(line, file=out)


def print_failed(runs, out):
    failed = sorted((r.capture, r.failure) for r in runs.values() if r.failure)
    print(f"failed runs: {len(failed)}", file=out)
    for capture, why in failed:
        print(f"  {capture}: {why}", file=out)


TABLE_HEAD = ("protocol", "flows", "found", "values", "found", "facts", "found", "%", "false+")


def table_row(s):
    return (s.proto, s.flows_expected, s.flows_found, s.values_expected, s.values_found,
            s.facts, s.found, f"{floor_1dp(s):.1f}", s.false_positives)


def print_table(scores, out):
    fmt = "{:<10} {:>6} {:>6} {:>7} {:>6} {:>6} {:>6} {:>6} {:>7}"
    print(fmt.format(*TABLE_HEAD), file=out)
    for s in scores.values():
        print(fmt.format(*table_row(s)), file=out)
    total = total_of(scores)
    print(fmt.format(*table_row(total)), file=out)
    # SCORING.md: the minimum set's figure on its own line (facts pooled over protocols).
    print(f"minimum set: {floor_1dp(total):.1f}% ({total.found}/{total.facts} facts)", file=out)


def figures_json(scores, runs):
    def one(s):
        return {"flows_expected": s.flows_expected, "flows_found": s.flows_found,
                "values_expected": s.values_expected, "values_found": s.values_found,
                "facts": s.facts, "found": s.found, "percent": round(s.percent, 4),
                "false_positives": s.false_positives}
    total = total_of(scores)
    return {"protocols": {p: one(s) for p, s in scores.items()},
            "total": one(total),
            "minimum_set_percent": round(total.percent, 4),
            "failed_runs": {r.capture: r.failure for r in runs.values() if r.failure}}


def write_floors(path, scores, ja3=None):
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("# portolan corpus conformance floors: proto<TAB>percent (minimum set, SCORING.md)\n")
        fh.write("# written by scripts/conformance --write-floors, rounded down to one decimal\n")
        for p, s in scores.items():
            fh.write(f"{p}\t{floor_1dp(s):.1f}\n")
        if ja3 is not None and ja3.status == "ok":
            # JA3 has no floor unless one is asked for: written commented out.
            fh.write(f"# ja3\t{floor_1dp(ja3):.1f}\t(tshark {JA3_FIELD}; uncomment to enforce)\n")


def read_floors(path):
    floors = {}
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split("\t") if "\t" in line else line.split()
            if len(parts) != 2:
                raise ValueError(f"{path}:{n}: expected proto<TAB>percent")
            floors[parts[0].strip()] = float(parts[1])
    return floors


def below_floors(scores, floors):
    """(proto, percent, floor) for every scored protocol under its floor."""
    return [(p, s.percent, floors[p]) for p, s in scores.items()
            if p in floors and s.percent < floors[p] - EPSILON]


def ja3_below_floor(ja3, floors):
    """[("ja3", percent, floor)] when --floors has a ja3 line and JA3 was checked and is
    under it; JA3 has no floor otherwise, and --min never applies to it."""
    if ja3 is None or ja3.status != "ok" or "ja3" not in floors:
        return []
    return [("ja3", ja3.percent, floors["ja3"])] if ja3.percent < floors["ja3"] - EPSILON else []


def below_min(scores, minimum):
    return [(p, s.percent, minimum) for p, s in scores.items() if s.percent < minimum - EPSILON]


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------

def repo_root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args(argv):
    root = repo_root()
    ap = argparse.ArgumentParser(prog="conformance", description=
        "Score portolan against the tshark truth of the corpus (rules: corpus SCORING.md).")
    ap.add_argument("--portolan", metavar="PATH", default=os.path.join(root, "build", "portolan"),
                    help="portolan binary (default: build/portolan in the repository)")
    ap.add_argument("--corpus", metavar="DIR",
                    default=os.path.normpath(os.path.join(root, "..", "shared", "corpus")),
                    help="corpus with pcaps/ and truth/ (default: ../shared/corpus)")
    ap.add_argument("--protos", metavar="A,B", help="truth protocols to score (default: all)")
    ap.add_argument("--min", type=float, metavar="P", help="exit 1 if a protocol is below P percent")
    ap.add_argument("--floors", metavar="FILE", help="TSV proto<TAB>percent; exit 1 below a floor")
    ap.add_argument("--write-floors", metavar="FILE", help="write the current figures as floors")
    ap.add_argument("--json-out", metavar="FILE", help="write the per-protocol figures as JSON")
    ap.add_argument("--jobs", metavar="N", type=int, default=2, help="portolan runs in parallel (default 2)")
    ap.add_argument("--timeout", metavar="S", type=float, default=DEFAULT_TIMEOUT,
                    help="seconds per capture before the run counts as hung (default 120)")
    ap.add_argument("--no-ja3", action="store_true",
                    help=f"skip the JA3 check (tshark {JA3_FIELD} on the tls captures)")
    ap.add_argument("--tshark", metavar="PATH",
                    help="tshark for the JA3 check (default: $PORTOLAN_TSHARK, else tshark on PATH)")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every miss and false positive")
    return ap.parse_args(argv)


def choose_protos(truth, wanted):
    present = {p for caps in truth.values() for p in caps}
    ordered = [p for p in PROTO_ORDER if p in present] + sorted(present - set(PROTO_ORDER))
    if not wanted:
        return ordered
    asked = [p.strip() for p in wanted.split(",") if p.strip()]
    unknown = [p for p in asked if p not in present]
    if unknown:
        raise ValueError(f"no truth files for: {', '.join(unknown)} (known: {', '.join(ordered)})")
    return [p for p in ordered if p in asked]


def report_failures(kind, failures, out):
    for proto, pct, limit in failures:
        print(f"conformance: FAIL {proto}: {pct:.2f}% below {kind} {limit:.1f}%", file=out)


def check_ja3(args, truth, runs, pcap_dir, decode_as):
    """The JA3 figures, or a Ja3Score saying why the check was skipped."""
    if args.no_ja3:
        return Ja3Score(status="skipped", reason="--no-ja3")
    tshark, wanted = find_tshark(args.tshark)
    if tshark is None:
        return Ja3Score(status="skipped", reason=f"no tshark at {wanted}" if wanted else "no tshark")
    found = collect_ja3(tshark, pcap_dir, ja3_captures(truth), decode_as, args.timeout, args.jobs)
    return score_ja3(found, runs, tshark)


def main(argv=None, out=sys.stdout):
    args = parse_args(argv)
    pcap_dir = os.path.join(args.corpus, "pcaps")
    truth_dir = os.path.join(args.corpus, "truth")
    if not (os.path.isdir(pcap_dir) and os.path.isdir(truth_dir)):
        print(f"conformance: skipped (no corpus at {args.corpus})", file=out)
        return 0
    if not os.access(args.portolan, os.X_OK):
        print(f"conformance: no executable portolan at {args.portolan} (build it or pass --portolan)",
              file=sys.stderr)
        return 2
    truth = load_truth(truth_dir)
    try:
        protos = choose_protos(truth, args.protos)
        floors = read_floors(args.floors) if args.floors else None
    except (ValueError, OSError) as err:
        print(f"conformance: {err}", file=sys.stderr)
        return 2
    captures = sorted(set(os.listdir(pcap_dir)) | set(truth))
    runs = run_all(args.portolan, pcap_dir, captures, args.timeout, args.jobs)
    scores = score_all(truth, runs, protos)
    decode_as = load_decode_as(truth_dir)
    ja3 = check_ja3(args, truth, runs, pcap_dir, decode_as)

    if args.verbose:
        print_misses(scores, decode_as, out)
    print_failed(runs, out)
    print_table(scores, out)
    print_ja3(ja3, decode_as, args.verbose, out)
    if args.json_out:
        figures = figures_json(scores, runs)
        figures["ja3"] = ja3_json(ja3)
        with open(args.json_out, "w", encoding="utf-8") as fh:
            json.dump(figures, fh, indent=2)
            fh.write("\n")
    if args.write_floors:
        write_floors(args.write_floors, scores, ja3)

    failures = 0
    if args.min is not None:
        under = below_min(scores, args.min)
        report_failures("minimum", under, out)
        failures += len(under)
    if floors is not None:
        under = below_floors(scores, floors) + ja3_below_floor(ja3, floors)
        report_failures("floor", under, out)
        failures += len(under)
        if "ja3" in floors and ja3.status != "ok":
            print(f"conformance: ja3 floor not checked (ja3 skipped: {ja3.reason})", file=out)
    return 1 if failures else 0

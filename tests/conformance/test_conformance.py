"""Tests of the corpus conformance scorer (scripts/conformance) itself.

Run from the repository root:  python3 -m unittest discover -s tests/conformance

fixtures/corpus is a miniature corpus: truth/ is written in the exact shape of the real
truth files (tshark fields TSV), and each pcaps/<name> is not a capture but the JSON Lines
that fake_portolan prints for it (lines starting with @@ make the fake crash, exit non-zero
or sleep). Expected figures of the fixture, per protocol (flows found/expected, values):
  dns      3/3, 3/3, 2 false positives   (case, 6in4 innermost, IPv6 spelling, dns object, <Root>)
  http     1/1, 2/2, 1 false positive    (URI with a comma is one value)
  tls      1/2, 1/2                      (quic.tls object counts; an http record does not)
  quic     1/1
  smtp     1/1, 2/3                      (<...> address extraction; a wrong RCPT is a miss)
  ftp      0/1, 0/1                      (portolan crashed after printing a matching record)
  ssh      0/1, 1/1, 1 false positive    (wrong port: flow miss; banner still found)
  telnet   0/1                           (capture file missing)
  dhcp     1/2, 1/2                      (two address pairs per capture, one fact per capture)
  netbios  0/1, 0/1                      (portolan exited 3)
JA3 (beside the minimum set): fake_tshark prints fixtures/tshark/<capture> for the captures
with a tls truth file: match.pcap has two distinct JA3s (one upper case, one comma-joined
with it), the quic record carries the first; wrong.pcap has one JA3 in frames 3 and 7 and no
record with it. Found 1 of 3.
"""

import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(ROOT, "scripts", "conformance")
CORPUS = os.path.join(HERE, "fixtures", "corpus")
CANNED = os.path.join(HERE, "fixtures", "tshark")
JA3_MATCH = "e7d705a3286e19ea42f587b344ee6865"      # match.pcap, carried by its quic record
JA3_MATCH_MISS = "6734f37431670b3ab4292b8f60f29984"  # match.pcap, frame 9, in no record
JA3_WRONG = "bc6c386f480ee97b9d9e52d472b772d8"       # wrong.pcap, frames 3 and 7, in no record

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import conformance_lib as lib  # noqa: E402


def install(source, target):
    shutil.copy(source, target)
    os.chmod(target, os.stat(target).st_mode | stat.S_IXUSR)


class FakePortolan:
    """The fakes (portolan, and tshark for the JA3 check) copied to a temp dir and made
    executable there, so the tests do not depend on the file mode the repository keeps.
    The dir also holds the JA3 cache and the fake tshark's call log of these runs."""

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="conformance-test-")
        self.path = os.path.join(self.dir, "portolan")
        install(os.path.join(HERE, "fake_portolan"), self.path)
        self.tshark = os.path.join(self.dir, "fake_tshark")
        install(os.path.join(HERE, "fake_tshark"), self.tshark)
        self.cache = os.path.join(self.dir, "ja3-cache")
        self.log = os.path.join(self.dir, "tshark.log")
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.dir, ignore_errors=True)

    def env(self, tshark=True, **extra):
        """The environment of a run: the fake tshark via $PORTOLAN_TSHARK (never the real
        one, whatever PATH holds), the cache and the log in this dir."""
        env = dict(os.environ, PORTOLAN_JA3_CACHE=self.cache, FAKE_TSHARK_LOG=self.log,
                   FAKE_TSHARK_CANNED=CANNED)
        env.pop("PORTOLAN_TSHARK", None)
        if tshark:
            env["PORTOLAN_TSHARK"] = self.tshark
        env.update(extra)
        return env

    def tshark_calls(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as fh:
            return [json.loads(line) for line in fh]


FAKES = {}   # fake portolan path -> FakePortolan, so run_cli finds the matching fake tshark


def run_cli(*args, portolan=None, env=None):
    cmd = [sys.executable, SCRIPT, "--corpus", CORPUS]
    if portolan:
        cmd += ["--portolan", portolan]
        if env is None and portolan in FAKES:
            env = FAKES[portolan].env()
    return subprocess.run(cmd + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=120, env=env)


def fake():
    f = FakePortolan().__enter__()
    FAKES[f.path] = f
    return f


class EndToEnd(unittest.TestCase):
    """The command line on the fixture corpus with the fake portolan."""

    @classmethod
    def setUpClass(cls):
        cls.fake = fake()
        cls.tmp = tempfile.mkdtemp(prefix="conformance-out-")
        out = os.path.join(cls.tmp, "figures.json")
        cls.result = run_cli("-v", "--json-out", out, portolan=cls.fake.path)
        with open(out) as fh:
            cls.figures = json.load(fh)

    @classmethod
    def tearDownClass(cls):
        cls.fake.__exit__(None, None, None)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def proto(self, name):
        return self.figures["protocols"][name]

    def assertCounts(self, name, flows, values, fps=0):
        p = self.proto(name)
        self.assertEqual((p["flows_found"], p["flows_expected"]), flows, name + " flows")
        self.assertEqual((p["values_found"], p["values_expected"]), values, name + " values")
        self.assertEqual(p["false_positives"], fps, name + " false positives")

    def test_exit_zero_without_limits(self):
        self.assertEqual(self.result.returncode, 0, self.result.stderr)

    def test_matching_records_are_found(self):
        # dns: name case differs, one flow is known only by its dns object, one is the
        # inner IPv6 pair of a 6in4 row written in a different IPv6 spelling; <Root> is no fact.
        self.assertCounts("dns", (3, 3), (3, 3), fps=2)
        self.assertCounts("http", (1, 1), (2, 2), fps=1)
        self.assertCounts("quic", (1, 1), (0, 0))

    def test_tls_object_inside_quic_counts_for_tls(self):
        self.assertIn("MISS  wrong.pcap  tls  flow", self.result.stdout)
        self.assertNotIn("MISS  match.pcap  tls", self.result.stdout)

    def test_wrong_protocol_is_a_miss(self):
        # wrong.pcap: the TLS flow is labelled http; its SNI is only inside an http URI, and
        # containment counts only in a record of the value's own protocol.
        self.assertCounts("tls", (1, 2), (1, 2))
        self.assertIn('MISS  wrong.pcap  tls  value  "sni.example"', self.result.stdout)

    def test_wrong_endpoints_is_a_miss(self):
        # Flow on the wrong port: flow miss and a false positive; the banner, a value fact
        # of the capture, is still found because it equals a string of the capture.
        self.assertCounts("ssh", (0, 1), (1, 1), fps=1)

    def test_wrong_value_is_a_miss(self):
        self.assertCounts("smtp", (1, 1), (2, 3))
        self.assertIn('MISS  wrong.pcap  smtp  value  "bob@example.net" [smtp.req.parameter]  frames 10',
                      self.result.stdout)

    def test_crash_and_nonzero_exit_find_nothing(self):
        self.assertCounts("ftp", (0, 1), (0, 1))
        self.assertCounts("netbios", (0, 1), (0, 1))
        failed = self.figures["failed_runs"]
        self.assertIn("signal", failed["crash.pcap"])
        self.assertIn("exit status 3", failed["exit.pcap"])
        self.assertIn("crash.pcap: killed by signal", self.result.stdout)

    def test_missing_capture_counts_zero_not_absent(self):
        self.assertCounts("telnet", (0, 1), (0, 0))
        self.assertEqual(self.proto("telnet")["percent"], 0.0)
        self.assertIn("gone.pcap", self.figures["failed_runs"])

    def test_dhcp_counts_once_per_capture(self):
        self.assertCounts("dhcp", (1, 2), (1, 2))

    def test_false_positives_beside_not_inside_score(self):
        self.assertEqual(self.proto("dns")["percent"], 100.0)
        self.assertEqual(self.figures["total"]["false_positives"], 4)
        self.assertIn("FALSE+  notruth.pcap  dns", self.result.stdout)

    def test_table_and_minimum_set_line(self):
        out = self.result.stdout
        self.assertRegex(out, r"\nsmtp\s+1\s+1\s+3\s+2\s+4\s+3\s+75\.0\s+0\n")
        self.assertRegex(out, r"\nTOTAL\s+14\s+8\s+15\s+10\s+29\s+18\s+62\.0\s+4\n")
        self.assertIn("minimum set: 62.0% (18/29 facts)", out)
        rows = [line.split()[0] for line in out.splitlines()
                if line and line.split()[0] in self.figures["protocols"]]
        self.assertEqual(rows, ["dns", "http", "tls", "quic", "smtp", "ftp", "ssh", "telnet",
                                "dhcp", "netbios"])

    def test_verbose_names_frames_and_decode_as(self):
        self.assertIn("MISS  dhcp2.pcap  dhcp  value  \"00:11:22:33:44:55\" [dhcp.hw.mac_addr]  frames 1,2",
                      self.result.stdout)
        self.assertIn("(tshark used -d tcp.port==2525,smtp)", self.result.stdout)


class Limits(unittest.TestCase):
    """--min, --floors, --write-floors, --protos and the skip without a corpus."""

    @classmethod
    def setUpClass(cls):
        cls.fake = fake()

    @classmethod
    def tearDownClass(cls):
        cls.fake.__exit__(None, None, None)

    def write(self, text):
        path = os.path.join(self.fake.dir, "floors.tsv")
        with open(path, "w") as fh:
            fh.write(text)
        return path

    def test_min_fails_below(self):
        r = run_cli("--min", "50", portolan=self.fake.path)
        self.assertEqual(r.returncode, 1)
        for proto in ("ftp", "telnet", "netbios"):
            self.assertIn(f"FAIL {proto}:", r.stdout)
        self.assertNotIn("FAIL tls:", r.stdout)          # exactly 50.0 is not below 50

    def test_min_zero_passes(self):
        self.assertEqual(run_cli("--min", "0", portolan=self.fake.path).returncode, 0)

    def test_floors_fail_names_each_protocol_below(self):
        floors = self.write("# comment\ndns\t100.0\nsmtp\t75.0\ntls\t50.1\nftp\t0.0\n")
        r = run_cli("--floors", floors, portolan=self.fake.path)
        self.assertEqual(r.returncode, 1)
        self.assertIn("FAIL tls:", r.stdout)
        self.assertNotIn("FAIL smtp:", r.stdout)
        self.assertNotIn("FAIL dns:", r.stdout)

    def test_floors_pass(self):
        floors = self.write("dns\t100.0\nsmtp\t75.0\nnot-a-truth-proto\t99.0\n")
        self.assertEqual(run_cli("--floors", floors, portolan=self.fake.path).returncode, 0)

    def test_write_floors_round_down_and_pass_themselves(self):
        floors = os.path.join(self.fake.dir, "written.tsv")
        self.assertEqual(run_cli("--write-floors", floors, portolan=self.fake.path).returncode, 0)
        written = lib.read_floors(floors)
        self.assertEqual(written["smtp"], 75.0)
        self.assertEqual(written["ftp"], 0.0)
        self.assertNotIn("TOTAL", written)
        self.assertEqual(run_cli("--floors", floors, portolan=self.fake.path).returncode, 0)

    def test_protos_limits_table(self):
        r = run_cli("--protos", "dns,http", portolan=self.fake.path)
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"\nTOTAL\s+4\s+4\s+5\s+5\s+9\s+9\s+100\.0\s+3\n")
        self.assertNotRegex(r.stdout, r"\nsmtp ")

    def test_unknown_proto_is_usage_error(self):
        self.assertEqual(run_cli("--protos", "gopher", portolan=self.fake.path).returncode, 2)

    def test_no_corpus_skips(self):
        r = subprocess.run([sys.executable, SCRIPT, "--corpus", os.path.join(self.fake.dir, "none")],
                           stdout=subprocess.PIPE, text=True)
        self.assertEqual(r.returncode, 0)
        self.assertIn("conformance: skipped (no corpus at", r.stdout)

    def test_missing_binary_is_an_error(self):
        r = run_cli(portolan=os.path.join(self.fake.dir, "no-such-portolan"))
        self.assertEqual(r.returncode, 2)

    def test_timeout_finds_nothing(self):
        pcap = os.path.join(self.fake.dir, "slow.pcap")
        with open(pcap, "w") as fh:
            fh.write('{"type": "session", "protocol": "dns"}\n@@sleep 30\n')
        run = lib.run_portolan(self.fake.path, pcap, timeout=0.5)
        self.assertEqual(run.records, [])
        self.assertIn("timed out", run.failure)


class Ja3(unittest.TestCase):
    """The JA3 check: tshark's tls.handshake.ja3 on the captures with a tls truth file."""

    JA3_LINE = "ja3 (tshark tls.handshake.ja3): found 1 of 3 (33.3%)"

    @classmethod
    def setUpClass(cls):
        cls.fake = fake()
        cls.tmp = tempfile.mkdtemp(prefix="conformance-ja3-")
        out = os.path.join(cls.tmp, "figures.json")
        cls.result = run_cli("-v", "--json-out", out, portolan=cls.fake.path)
        cls.calls = cls.fake.tshark_calls()
        with open(out) as fh:
            cls.figures = json.load(fh)

    @classmethod
    def tearDownClass(cls):
        cls.fake.__exit__(None, None, None)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as fh:
            fh.write(text)
        return path

    def test_record_carrying_the_ja3_counts_as_found(self):
        # tshark printed it in upper case; the record has it in lower case.
        ja3 = self.figures["ja3"]
        self.assertEqual((ja3["found"], ja3["facts"], ja3["captures"]), (1, 3, 2))
        self.assertIn(self.JA3_LINE, self.result.stdout)
        self.assertNotIn(JA3_MATCH, self.result.stdout)

    def test_record_without_the_ja3_is_a_miss(self):
        out = self.result.stdout
        self.assertIn(f'MISS  match.pcap  ja3  value  "{JA3_MATCH_MISS}" [tls.handshake.ja3]  frames 9\n',
                      out)
        self.assertIn(f'MISS  wrong.pcap  ja3  value  "{JA3_WRONG}" [tls.handshake.ja3]  frames 3,7'
                      "  (tshark used -d tcp.port==2525,smtp)", out)
        self.assertEqual(self.figures["ja3"]["misses"],
                         [{"capture": "match.pcap", "ja3": JA3_MATCH_MISS, "frames": [9]},
                          {"capture": "wrong.pcap", "ja3": JA3_WRONG, "frames": [3, 7]}])

    def test_only_tls_captures_with_their_decode_as(self):
        runs = {os.path.basename(c[c.index("-r") + 1]): c for c in self.calls}
        self.assertEqual(sorted(runs), ["match.pcap", "wrong.pcap"])
        self.assertNotIn("-d", runs["match.pcap"])
        self.assertIn("-d tcp.port==2525,smtp -r", " ".join(runs["wrong.pcap"]))
        for call in runs.values():
            self.assertIn("-e frame.number -e tls.handshake.ja3", " ".join(call))

    def test_beside_not_inside_the_minimum_set(self):
        out = self.result.stdout
        self.assertRegex(out, r"\nTOTAL\s+14\s+8\s+15\s+10\s+29\s+18\s+62\.0\s+4\n")
        self.assertIn("minimum set: 62.0% (18/29 facts)\n", out)
        self.assertGreater(out.index(self.JA3_LINE), out.index("minimum set:"))
        self.assertEqual(self.figures["total"]["facts"], 29)
        self.assertNotIn("ja3", self.figures["protocols"])
        self.assertEqual(self.result.returncode, 0)     # 33% and no ja3 floor: no failure

    def test_second_run_uses_the_cache(self):
        before = len(self.fake.tshark_calls())
        r = run_cli(portolan=self.fake.path)
        self.assertIn(self.JA3_LINE, r.stdout)
        self.assertEqual(len(self.fake.tshark_calls()), before)
        self.assertTrue(os.listdir(self.fake.cache))

    def test_fake_tshark_first_on_path(self):
        bindir = os.path.join(self.tmp, "bin")
        os.makedirs(bindir, exist_ok=True)
        install(self.fake.tshark, os.path.join(bindir, "tshark"))
        env = self.fake.env(tshark=False, PATH=bindir + os.pathsep + os.environ.get("PATH", ""),
                            PORTOLAN_JA3_CACHE=os.path.join(self.tmp, "cache-path"))
        r = run_cli(portolan=self.fake.path, env=env)
        self.assertIn(self.JA3_LINE, r.stdout)

    def test_absent_tshark_is_skipped(self):
        # PATH holds python3 (the fakes' interpreter) and nothing else.
        bindir = os.path.join(self.tmp, "python-only")
        os.makedirs(bindir, exist_ok=True)
        if not os.path.exists(os.path.join(bindir, "python3")):
            os.symlink(sys.executable, os.path.join(bindir, "python3"))
        out = os.path.join(self.tmp, "skipped.json")
        r = run_cli("--json-out", out, portolan=self.fake.path,
                    env=self.fake.env(tshark=False, PATH=bindir))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("minimum set: 62.0% (18/29 facts)\nja3: skipped (no tshark)\n", r.stdout)
        with open(out) as fh:
            self.assertEqual(json.load(fh)["ja3"], {"status": "skipped", "reason": "no tshark"})

    def test_tshark_named_but_missing_is_skipped(self):
        missing = os.path.join(self.tmp, "no-such-tshark")
        r = run_cli(portolan=self.fake.path, env=self.fake.env(PORTOLAN_TSHARK=missing))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"ja3: skipped (no tshark at {missing})", r.stdout)

    def test_no_ja3_skips_without_running_tshark(self):
        log = os.path.join(self.tmp, "no-ja3.log")
        r = run_cli("--no-ja3", portolan=self.fake.path, env=self.fake.env(FAKE_TSHARK_LOG=log))
        self.assertIn("ja3: skipped (--no-ja3)", r.stdout)
        self.assertFalse(os.path.exists(log))

    def test_min_never_applies_to_ja3(self):
        r = run_cli("--min", "40", portolan=self.fake.path)
        self.assertIn("FAIL ftp:", r.stdout)
        self.assertNotIn("FAIL ja3", r.stdout)

    def test_ja3_floor_line(self):
        passing = self.write("pass.tsv", "dns\t100.0\nja3\t33.3\n")
        r = run_cli("--floors", passing, portolan=self.fake.path)
        self.assertEqual(r.returncode, 0, r.stdout)
        failing = self.write("fail.tsv", "dns\t100.0\nja3\t33.4\n")
        r = run_cli("--floors", failing, portolan=self.fake.path)
        self.assertEqual(r.returncode, 1)
        self.assertIn("conformance: FAIL ja3: 33.33% below floor 33.4%", r.stdout)
        self.assertNotIn("FAIL dns", r.stdout)

    def test_ja3_floor_not_checked_when_skipped(self):
        failing = self.write("fail-skipped.tsv", "ja3\t90\n")
        r = run_cli("--no-ja3", "--floors", failing, portolan=self.fake.path)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("ja3 floor not checked", r.stdout)

    def test_write_floors_leaves_ja3_commented(self):
        floors = os.path.join(self.tmp, "written.tsv")
        run_cli("--write-floors", floors, portolan=self.fake.path)
        with open(floors) as fh:
            self.assertIn("# ja3\t33.3\t", fh.read())
        self.assertNotIn("ja3", lib.read_floors(floors))

    def test_tshark_output_parsing(self):
        text = "1\t\n2\tAB,cd\n3\tab\n4\n\n5\t ,CD \n"
        self.assertEqual(lib.parse_ja3_output(text), {"ab": [2, 3], "cd": [2, 5]})

    def test_found_only_when_equal(self):
        runs = {"c": lib.RunResult("c", [{"type": "session", "tls": {"ja3": "x" + JA3_MATCH}},
                                         {"type": "session", "note": JA3_WRONG.upper()}])}
        found = {"c": lib.Ja3Capture("c", {JA3_MATCH: [1], JA3_WRONG: [2]})}
        js = lib.score_ja3(found, runs)
        self.assertEqual((js.found, js.facts), (1, 2))
        self.assertEqual(js.misses, [("c", JA3_MATCH, [1])])


def row(**cells):
    """A truth row; keyword names spell the tshark field with "_" for "." and "__" for "_"
    (dns_qry_name -> dns.qry.name, rdp_rt__cookie -> rdp.rt_cookie)."""
    return {k.replace("__", "\0").replace("_", ".").replace("\0", "_"): v for k, v in cells.items()}


class TruthSpelling(unittest.TestCase):
    """How each truth field's tshark spelling becomes value facts."""

    def values(self, extractor, **cells):
        return [v for v, _, _ in extractor(row(**cells))]

    def test_dns_splits_and_drops_placeholders(self):
        self.assertEqual(self.values(lib.values_dns, dns_qry_name="_ipp._tcp.local,_ipps._tcp.local"),
                         ["_ipp._tcp.local", "_ipps._tcp.local"])
        self.assertEqual(self.values(lib.values_dns, dns_qry_name="<Root>,www.xt.com,<Name too long>"),
                         ["www.xt.com"])
        (_, raw, _), = lib.values_dns(row(dns_qry_name=r"www.a\004b.cn"))
        self.assertIn("www.a\x04b.cn", raw)

    def test_http_uri_with_comma_is_one_value(self):
        self.assertEqual(self.values(lib.values_http, http_request_method="GET",
                                     http_host="h.example", http_request_uri="/a?x=1,2"),
                         ["h.example", "/a?x=1,2"])
        self.assertEqual(self.values(lib.values_http, http_request_method="GET,GET",
                                     http_host="h.example,h.example", http_request_uri="/a,/b"),
                         ["h.example", "h.example", "/a", "/b"])

    def test_smtp_addresses_and_helo(self):
        self.assertEqual(self.values(lib.values_smtp, smtp_req_command="MAIL",
                                     smtp_req_parameter="From:<root@x.ch> SIZE=695"), ["root@x.ch"])
        self.assertEqual(self.values(lib.values_smtp, smtp_req_command="RCPT,DATA",
                                     smtp_req_parameter="To:<jan@cern.ch>"), ["jan@cern.ch"])
        self.assertEqual(self.values(lib.values_smtp, smtp_req_command="MAIL",
                                     smtp_req_parameter="FROM:<>"), [])
        self.assertEqual(self.values(lib.values_smtp, smtp_req_command="EHLO",
                                     smtp_req_parameter="[IPv6:2003:de::1]"), ["[IPv6:2003:de::1]"])
        self.assertEqual(self.values(lib.values_smtp, smtp_req_command="AUTH",
                                     smtp_req_parameter="PLAIN AGZvbw=="), [])

    def test_ftp_and_pop3_user(self):
        self.assertEqual(self.values(lib.values_ftp, ftp_request_command="USER",
                                     ftp_request_arg="anonymous"), ["anonymous"])
        self.assertEqual(self.values(lib.values_ftp, ftp_request_command="PASS",
                                     ftp_request_arg="secret"), [])
        self.assertEqual(self.values(lib.values_pop3, pop_request_command="USER",
                                     pop_request_parameter="zeek@zeek.org"), ["zeek@zeek.org"])

    def test_imap_login_user(self):
        self.assertEqual(self.values(lib.values_imap, imap_request='a0001 LOGIN "neulingern" "XXXXXX"'),
                         ["neulingern"])
        self.assertEqual(self.values(lib.values_imap, imap_request="a1 login joe secret"), ["joe"])
        self.assertEqual(self.values(lib.values_imap, imap_request="a1 LOGIN {4}"), [])
        self.assertEqual(self.values(lib.values_imap, imap_request='a0003 SELECT "INBOX"'), [])

    def test_netbios_suffix_and_description(self):
        self.assertEqual(self.values(lib.values_netbios,
                                     nbns_name="MDJR98<03>,MDJR98<03> (Messenger service/Main name)"),
                         ["MDJR98", "MDJR98"])
        (name, raw, _), = lib.values_netbios(row(nbns_name="<01><02>__MSBROWSE__<02><01>"))
        self.assertEqual(name, "<01><02>__MSBROWSE__<02>")
        self.assertIn("\x01\x02__MSBROWSE__\x02", raw)
        (_, raw, _), = lib.values_netbios(row(nbns_name="*<00><00><00>"))
        self.assertIn("*", raw)

    def test_ldap_dn_is_never_split(self):
        self.assertEqual(self.values(lib.values_ldap, ldap_protocolOp="0",
                                     ldap_name="cn=admin,dc=example,dc=com"), ["cn=admin,dc=example,dc=com"])
        self.assertEqual(self.values(lib.values_ldap, ldap_protocolOp="3",
                                     ldap_baseObject="dc=example,dc=com"), ["dc=example,dc=com"])
        self.assertEqual(self.values(lib.values_ldap, ldap_protocolOp="1", ldap_name=""), [])

    def test_rdp_cookie(self):
        (value, extra, _), = lib.values_rdp(row(rdp_rt__cookie="Cookie: mstshash=JOHN-PC  "))
        self.assertEqual(value, "JOHN-PC")
        self.assertIn("Cookie: mstshash=JOHN-PC  ", extra)
        (value, _, _), = lib.values_rdp(row(rdp_rt__cookie="Cookie: msts=3640205228.15629.0000"))
        self.assertEqual(value, "msts=3640205228.15629.0000")

    def test_smb_tree_split_only_at_unc_start(self):
        self.assertEqual(self.values(lib.values_smb, smb2_tree="\\\\h\\a,b$,\\\\h\\IPC$"),
                         ["\\\\h\\a,b$", "\\\\h\\IPC$"])

    def test_dhcp_mac_listed_twice(self):
        self.assertEqual(self.values(lib.values_dhcp, dhcp_hw_mac__addr="00:1f:29:da:2d:79,00:1f:29:da:2d:79"),
                         ["00:1f:29:da:2d:79", "00:1f:29:da:2d:79"])

    def test_snmp_community_not_split(self):
        self.assertEqual(self.values(lib.values_snmp, snmp_community="a,b"), ["a,b"])

    def test_flow_key_innermost(self):
        six = row(ip_src="174.3.73.24", ipv6_src="2001:470::2", udp_srcport="53959",
                  ip_dst="184.105.255.26", ipv6_dst="2a03:2880::99", udp_dstport="53")
        self.assertEqual(lib.row_flow_key(six),
                         ("udp", frozenset({("2001:470::2", 53959), ("2a03:2880::99", 53)})))
        tunnel = row(ip_src="1.1.1.1,10.0.0.1", tcp_srcport="1234", ip_dst="2.2.2.2,10.0.0.2", tcp_dstport="80")
        self.assertEqual(lib.row_flow_key(tunnel),
                         ("tcp", frozenset({("10.0.0.1", 1234), ("10.0.0.2", 80)})))


class Matching(unittest.TestCase):
    def record(self, protocol="dns", **extra):
        rec = {"type": "session", "transport": "udp", "protocol": protocol,
               "client": {"ip": "10.0.0.1", "port": 1000}, "server": {"ip": "10.0.0.2", "port": 53}}
        rec.update(extra)
        return rec

    def test_accepted_names_and_objects(self):
        self.assertTrue(lib.counts_for(self.record("mdns"), "dns"))
        self.assertTrue(lib.counts_for(self.record("cldap"), "ldap"))
        self.assertTrue(lib.counts_for(self.record("smtp", tls={"sni": "x"}), "tls"))
        self.assertTrue(lib.counts_for(self.record("smb", **{"netbios-ssn": {}}), "netbios"))
        self.assertFalse(lib.counts_for(self.record("smtp", tls=None), "tls"))
        self.assertFalse(lib.counts_for(self.record("http"), "dns"))

    def test_value_equal_anywhere_or_contained_in_own_protocol(self):
        view = lib.CaptureView([self.record("http", http={"uri": "/q?name=secret.example"}),
                                self.record("dns", dns={"note": "Exact.Example"})])
        fact = lib.ValueFact("x", {"exact.example"})
        self.assertTrue(view.value_found("http", fact))      # equal anywhere
        fact = lib.ValueFact("x", {"secret.example"})
        self.assertFalse(view.value_found("dns", fact))      # contained, but in an http record
        self.assertTrue(view.value_found("http", fact))

    def test_json_lines_parsing(self):
        data = b'junk\n{"type": "session", "protocol": "dns"}\n{"type": "stats"}\n[1,2]\n{bad\n'
        self.assertEqual(lib.parse_json_lines(data), [{"type": "session", "protocol": "dns"}])

    def test_floor_rounds_down(self):
        self.assertEqual(lib.floor_1dp(lib.ProtoScore("x", flows_expected=3, flows_found=2)), 66.6)
        self.assertEqual(lib.floor_1dp(lib.ProtoScore("x", flows_expected=2000, flows_found=1999)), 99.9)
        self.assertEqual(lib.floor_1dp(lib.ProtoScore("x")), 0.0)


if __name__ == "__main__":
    unittest.main()

"""tools/gen-config-man: egressd.toml(5) from conf/egressd.toml's comments.
Every table and every key the reference config sets or documents is on the
page, roff renders it without a warning, and a layout the generator cannot
read is an error rather than a page with a table missing.

Run with /usr/bin/python3; needs man-db (tools/setup).
"""
import os
import pathlib
import re
import subprocess
import tempfile
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "gen-config-man"
CONFIG = ROOT / "conf" / "egressd.toml"


def generate(source_text=None):
    """(exit status, page text, stderr) for the reference config or a given text."""
    with tempfile.TemporaryDirectory() as tmp:
        src = CONFIG
        if source_text is not None:
            src = pathlib.Path(tmp) / "in.toml"
            src.write_text(source_text)
        out = pathlib.Path(tmp) / "out.5"
        r = subprocess.run(["/usr/bin/python3", str(TOOL), str(src), str(out), "9.9.9"], capture_output=True,
                           text=True, timeout=60)
        return r.returncode, (out.read_text() if out.exists() else ""), r.stderr


class GenConfigManTest(unittest.TestCase):
    def test_every_table_and_key_of_the_reference_config(self):
        rc, page, err = generate()
        self.assertEqual((rc, err), (0, ""))
        self.assertIn('.TH EGRESSD.TOML 5 "" "egressd 9.9.9" "File Formats"', page)
        text = CONFIG.read_text()
        tables = re.findall(r"^# (\[[a-z_]+\])(?: reference)? \u2014", text, re.M)
        self.assertGreater(len(tables), 15)
        for t in tables:
            self.assertIn('.SS "' + t, page, t)
        # Keys set, and keys commented out with a value (the reference tables).
        keys = set(re.findall(r"^([a-z0-9_]+) = ", text, re.M))
        keys |= set(re.findall(r"^# +([a-z0-9_]+) = [\"'\[0-9]", text, re.M))
        self.assertGreater(len(keys), 80)
        # Entries are ".TP" then the bold term: "key" or "a / b".
        terms = set()
        for term in re.findall(r"^\.TP\n\\fB(.*)\\fR$", page, re.M):
            terms.update(term.replace("\\-", "-").split(" / "))
        self.assertEqual(sorted(keys - terms), [])
        # Nothing else became an entry: each term is a key the file sets or
        # shows, an array of tables, one of the two [[dlp.pattern]] keys its
        # examples leave out, or [[policy.group]]'s limits (shown inline).
        self.assertEqual(sorted(t for t in terms - keys if not t.startswith("[[")), ["direction", "flags", "limits"])

    def test_renders_without_warnings(self):
        rc, page, _ = generate()
        self.assertEqual(rc, 0)
        with tempfile.NamedTemporaryFile("w", suffix=".5") as f:
            f.write(page)
            f.flush()
            r = subprocess.run(["man", "--warnings", "-l", f.name], capture_output=True, text=True, timeout=60,
                               env={**os.environ, "MANWIDTH": "80", "MANPAGER": "cat"})
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertIn("egressd.toml - configuration file of egressd", r.stdout)

    def test_entry_forms(self):
        banner = "# " + "-" * 75
        rc, page, err = generate("\n".join([
            "# Intro.", banner, "# [t] \u2014 a table.", banner, "[t]",
            "# k: integer, default 1. Meaning.", "k = 2", "", "#  * a bullet", "#",
            "# [[t.x]]: each has:", "#   name: string.", "", ".dot = 1", ""]))
        self.assertEqual((rc, err), (0, ""))
        body = page[page.index('.SS "[t] \\(em a table."'):]
        self.assertEqual(body.split("\n")[1:21], [
            ".RS 4", ".nf", "[t]", ".fi", ".RE",
            ".TP", "\\fBk\\fR", "integer, default 1. Meaning.",
            ".RS 4", ".nf", "k = 2", ".fi", ".RE",
            ".IP \\(bu 2", "a bullet",
            ".TP", "\\fB[[t.x]]\\fR", "each has:",
            ".RS 4", ".TP"])
        self.assertIn("\n.RS 4\n.nf\n\\&.dot = 1\n.fi\n.RE\n", body)

    def test_unreadable_layouts_are_errors(self):
        banner = "# " + "-" * 75
        for text, message in [("# no banners\nk = 1\n", "no table banners found"),
                              (f"{banner}\n# not a title\n{banner}\n", "line 2: a banner without a [table] title"),
                              (f"{banner}\n# [t] \u2014 x\n", "line 1: banner not closed")]:
            with self.subTest(message=message):
                rc, _, err = generate(text)
                self.assertEqual(rc, 1)
                self.assertRegex(err, re.escape(message) + "\n$")


if __name__ == "__main__":
    unittest.main()

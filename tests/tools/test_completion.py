"""tools/egressctl.bash-completion and docs/man/egressctl.8 against egressctl
itself: the completion offers exactly egressctl's commands and each command's
options, and the manual page names every command and option. No egressd needed.

Run with /usr/bin/python3; needs bash and bash-completion (tools/setup).
"""
import importlib.machinery
import importlib.util
import pathlib
import re
import subprocess
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "egressctl"
COMPLETION = ROOT / "tools" / "egressctl.bash-completion"
MAN = ROOT / "docs" / "man" / "egressctl.8"
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"
COMMANDS = ["status", "stats", "flows", "policy", "explain", "reload", "block", "unblock", "blocks", "nat", "sources", "health",
            "drain", "undrain"]


def complete(words):
    """COMPREPLY of _egressctl for the command line `words` (the last word is
    the one being completed), one word per line, sorted."""
    line = " ".join(words)
    script = (
        f"source {BASH_COMPLETION}; source {COMPLETION}; "
        f"COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}; "
        f"COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}; "
        "_egressctl; printf '%s\\n' \"${COMPREPLY[@]}\""
    )
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30, check=True)
    return sorted(w for w in out.stdout.split("\n") if w)


def options_of(args):
    """Long and short options egressctl's own --help lists for `args`."""
    out = subprocess.run(["/usr/bin/python3", str(TOOL), *args, "--help"], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    return sorted(set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", out)))


class CompletionTest(unittest.TestCase):
    def test_commands_are_egressctl_commands(self):
        loader = importlib.machinery.SourceFileLoader("egressctl", str(TOOL))
        module = importlib.util.module_from_spec(importlib.util.spec_from_loader("egressctl", loader))
        loader.exec_module(module)
        self.assertEqual(sorted(module.SHOW), sorted(COMMANDS))
        self.assertEqual(complete(["egressctl", ""]),
                         sorted(COMMANDS + ["-s", "--socket", "--json", "-h", "--help"]))
        self.assertEqual(complete(["egressctl", "bl"]), ["block", "blocks"])

    def test_top_level_options_match_help(self):
        self.assertEqual(complete(["egressctl", "-"]), options_of([]))

    def test_each_command_options_match_help(self):
        for cmd in COMMANDS:
            with self.subTest(cmd=cmd):
                self.assertEqual(complete(["egressctl", cmd, "-"]), options_of([cmd]))
                self.assertEqual(complete(["egressctl", "-s", "/run/x.sock", "--json", cmd, "-"]),
                                 options_of([cmd]))

    def test_every_command_is_one_egressctl_accepts(self):
        # An unknown command is a usage error (2); each listed one parses.
        bad = subprocess.run(["/usr/bin/python3", str(TOOL), "nosuch"], capture_output=True, timeout=30)
        self.assertEqual(bad.returncode, 2)
        for cmd in COMMANDS:
            r = subprocess.run(["/usr/bin/python3", str(TOOL), cmd, "--help"], capture_output=True, timeout=30)
            self.assertEqual(r.returncode, 0, cmd)


class ManPageTest(unittest.TestCase):
    def test_names_every_command_and_option(self):
        text = MAN.read_text().replace("\\-", "-")
        for cmd in COMMANDS:
            self.assertRegex(text, rf"\n\.B(R)? {cmd}\b", cmd)
        for cmd in [[]] + [[c] for c in COMMANDS]:
            for opt in options_of(cmd):
                self.assertIn(opt, text, f"{cmd} {opt}")


if __name__ == "__main__":
    unittest.main()

# SPDX-License-Identifier: GPL-2.0
"""Host tests of scripts/series.sh's MAINTAINERS insertion (entry_insert)."""

import os
import subprocess
import tempfile
import unittest

SERIES = os.path.join(os.path.dirname(__file__), "..", "series.sh")

HEAD = "Maintainers list\n\n3C59X NETWORK DRIVER\nM:\tA <a@x>\nS:\tMaintained\n\n"


def entry(title, first):
    return f"{title}\nM:\t{first} <{first.lower()}@x>\nS:\tMaintained\nF:\tdrivers/{first.lower()}/\n\n"


def insert(maintainers, text, author="Sub <sub@x>"):
    """Run entry_insert of series.sh on MAINTAINERS text, return (rc, out)."""
    with tempfile.NamedTemporaryFile("w", suffix=".entry", delete=False) as f:
        f.write(text)
        path = f.name
    try:
        script = (f"source <(sed -n '/^entry_insert() {{/,/^}}/p' {SERIES}); "
                  f"entry_insert {path} '{author}'")
        p = subprocess.run(["bash", "-c", script], input=maintainers,
                           capture_output=True, text=True)
        return p.returncode, p.stdout
    finally:
        os.unlink(path)


class EntryInsert(unittest.TestCase):
    NEW = "DMA BUFFER SHARING INTERCONNECT\nM:\t@AUTHOR@\nS:\tMaintained\nF:\tdrivers/x/\n"

    def test_after_greatest_lower_title(self):
        # "LPC32XX" sits out of order before the DMA entries: the entry goes
        # after "DMA BUFFER SHARING FRAMEWORK", not before "LPC32XX".
        m = (HEAD + entry("ARM/LPC32XX SOC", "B") + entry("LPC32XX DMAMUX", "C")
             + entry("DMA BUFFER SHARING FRAMEWORK", "D") + entry("DMA GENERIC OFFLOAD", "E"))
        rc, out = insert(m, self.NEW)
        self.assertEqual(rc, 0)
        lines = out.splitlines()
        at = lines.index("DMA BUFFER SHARING INTERCONNECT")
        self.assertEqual(lines[at - 1], "")
        self.assertIn("F:\tdrivers/d/", lines[at - 2])
        self.assertEqual(lines[at + 1], "M:\tSub <sub@x>")
        self.assertEqual(lines[at + 5], "DMA GENERIC OFFLOAD")
        self.assertEqual(out.count("DMA BUFFER SHARING INTERCONNECT"), 1)

    def test_no_place_fails(self):
        # No entry list (no "3C59X NETWORK DRIVER" first entry): nowhere to go.
        m = HEAD.replace("3C59X NETWORK DRIVER", "3C59X") + entry("ZZZ", "Z")
        rc, _ = insert(m, "AAA\nM:\t@AUTHOR@\n")
        self.assertNotEqual(rc, 0)


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/python3
"""System test of the exception path (issue 17, item 1): a routing daemon on
the gateway host — BIRD, and again FRR — peers with BIRD on the outside router
through egressd's outside port and the net_tap egressd creates
(tests/system/exception_probe.py builds the namespaces and runs it all)."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "exception_probe.py")
FLOOD, RATE, BURST = 3000, 200, 20
CONNECTS = 40


def probe(mode="flood", daemon="bird"):
    d = tempfile.mkdtemp(prefix="egressd-exc-")
    proc = subprocess.run(["/usr/bin/python3", PROBE, harness.EGRESSD, d, mode, daemon], capture_output=True, text=True,
                          timeout=240)
    if proc.returncode != 0:
        raise AssertionError(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


class exception_path(unittest.TestCase):
    def test_bgp_and_bfd_through_the_port(self):
        self.check(probe("flood", "bird"))

    def test_frr_on_the_gateway_host(self):
        self.check(probe("flood", "frr"))

    def check(self, r):
        self.assertEqual(r["returncode"], 0, r["stderr"])
        # The tap: the port's MAC, the side's address.
        self.assertIn("link/ether 02:00:00:00:02:fe", r["tap"])
        self.assertIn("inet 192.0.2.1/24", r["tap_addresses"])
        # BGP Established both ways, BFD up, the pool announced to the router.
        self.assertIsNotNone(r["established_after_s"], r)
        self.assertIsNotNone(r["bfd_up_after_s"], r)
        self.assertRegex(r["router_bfd"], r"192\.0\.2\.1 +r0 +Up ")
        self.assertIsNotNone(r["router_route"], r)
        self.assertIn("203.0.113.0/24", r["router_routes"])
        self.assertIn("via 192.0.2.1", r["router_routes"])
        s = r["summary"]
        # The flood was rate-limited and counted; what passed stayed within
        # the budget of the whole run (burst + rate x seconds, both buckets).
        limited = s["drops"]["exception_rate_limited"]
        self.assertGreater(limited, 0)
        self.assertLessEqual(s["exception"]["to_kernel"], 2 * (BURST + RATE * 60))
        # Each flood SYN went to the tap or was counted (or, on a very busy
        # machine, never left the af_packet ring: rx_missed).
        missed = s["ports"]["outside"]["rx_missed"]
        self.assertGreaterEqual(limited + r["tap_bgp_syns"] + missed, FLOOD)
        self.assertLess(r["tap_bgp_syns"], FLOOD // 2)
        # ... while forwarding carried on: every datagram of the client arrived.
        self.assertEqual(r["udp_received"], 200)
        # A port not listed never reached the kernel: dropped as before.
        self.assertEqual(r["tap_port23_frames"], 0)
        self.assertEqual(s["drops"]["local_delivery_unsupported"], 50)
        # The kernel sent only from the gateway's MAC and address.
        self.assertGreater(s["exception"]["from_kernel"], 0)
        self.assertEqual(s["drops"]["exception_source_refused"], 0)
        self.assertEqual(s["drops"]["exception_queue_full"], 0)
        self.assertEqual(s["drops"]["exception_handoff_full"], 0)
        self.assertNotIn("exception_not_worker0", s["drops"])
        # BFD has a bucket of its own: the flood at TCP 179 did not take the
        # session down.
        self.assertIn("Established", r["after_flood_gw"])
        self.assertIn("Established", r["after_flood_rtr"])



class exception_path_two_workers(unittest.TestCase):
    def test_frames_for_the_kernel_reach_it_from_either_worker(self):
        """Two workers, the kernel fanning frames out over both queues of each
        port: BGP (BIRD), BFD and 40 TCP connections to a listed port served on
        the tap all work; what worker 1 received for the kernel was handed to
        worker 0 (counted), none lost."""
        r = probe("workers")
        # The scenario needs the kernel's af_packet fan-out to give each worker
        # some of the outside frames. Once in several runs it put them all on
        # one queue (worker 1: 0 of ~250): the scenario did not happen, and it
        # is run once more (egressd's own behaviour is asserted on either run).
        if r["returncode"] == 0 and not all(w["rx_outside"] > 0 for w in r["summary"]["workers"]):
            print("the kernel fanned no outside frame out to one worker:", r["summary"]["workers"], "- run again",
                  file=sys.stderr)
            r = probe("workers")
        self.assertEqual(r["returncode"], 0, r["stderr"])
        self.assertIsNotNone(r["established_after_s"], r)
        self.assertIsNotNone(r["bfd_up_after_s"], r)
        self.assertIsNotNone(r["router_route"], r)
        self.assertEqual(r["connects_ok"], CONNECTS)
        self.assertIn("Established", r["after_flood_gw"])  # no flood in this mode: after the connections
        self.assertIn("Established", r["after_flood_rtr"])
        s = r["summary"]
        self.assertEqual(len(s["workers"]), 2)
        self.assertTrue(all(w["rx_outside"] > 0 for w in s["workers"]), s["workers"])
        # Worker 1 received frames for the kernel and handed them over.
        self.assertGreater(s["exception"]["handed_to_worker0"], 0)
        self.assertGreaterEqual(s["exception"]["to_kernel"], s["exception"]["handed_to_worker0"])
        for reason in ("exception_handoff_full", "exception_queue_full", "exception_source_refused",
                       "handoff_full"):
            self.assertEqual(s["drops"][reason], 0, reason)
        self.assertNotIn("exception_not_worker0", s["drops"])


if __name__ == "__main__":
    unittest.main()

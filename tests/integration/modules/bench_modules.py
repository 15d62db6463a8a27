"""Time quorum.etcd modules against a real local TLS etcd cluster.

Starts three etcd members on loopback (etcd_lab.py, beside this file),
then measures, over N repetitions (median and min):
  * one etcd_status_info call across the three endpoints,
  * one etcd_member add (learner) + remove round trip (two module runs),
each as a module process exactly as the integration tests run it (python
startup and ansible imports included; no SSH, no AnsiballZ packing).
Also times the in-process client calls behind them, to show the module
overhead. Tears the cluster down at the end.

Usage: .venv/bin/python tests/integration/modules/bench_modules.py [-n 5]
"""

import argparse
import statistics
import tempfile
import time

import etcd_lab  # beside this file


def timed(func):
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def report(label, samples):
    print("%-44s median %7.1f ms   min %7.1f ms   (n=%d)"
          % (label, statistics.median(samples) * 1000, min(samples) * 1000, len(samples)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5, help="repetitions (default 5)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="quorum-etcd-bench-") as root:
        lab = etcd_lab.Lab(root)
        try:
            t, _unused = timed(lab.start)
            print("etcd %s, 3 TLS members on %s.11-13, started in %.1f s" % (
                lab.client().status()["version"], lab.prefix, t))
            # etcd refuses membership changes until the leader has been connected
            # to every member for 5 s (strict reconfig check): don't time that.
            time.sleep(5.5)
            conn = lab.conn_args([m.client_url for m in lab.members])
            status, roundtrip, c_status, c_roundtrip = [], [], [], []
            for i in range(args.n):
                # a fresh peer URL each time: etcd refuses re-adding peer URLs removed in the same second
                peer = "https://%s.14:%d" % (lab.prefix, 2400 + i)
                t, res = timed(lambda: lab.run_module("etcd_status_info", conn))
                assert res["_rc"] == 0 and res["healthy"], res
                status.append(t)

                def add_remove():
                    add = lab.run_module("etcd_member", dict(conn, peer_urls=[peer], learner=True,
                                                             wait_timeout=30, wait_delay=0.5))
                    assert add["_rc"] == 0 and add["changed"], add
                    rem = lab.run_module("etcd_member", dict(conn, peer_urls=[peer], state="absent"))
                    assert rem["_rc"] == 0 and rem["changed"], rem
                t, _unused = timed(add_remove)
                roundtrip.append(t)

                client = lab.client([m.client_url for m in lab.members])
                t, _unused = timed(lambda: [client.status(endpoint=m.client_url) for m in lab.members])
                c_status.append(t)

                def client_add_remove():
                    member, _unused = client.member_add([peer.replace(":24", ":25")], is_learner=True)
                    client.member_remove(member["id"])
                t, _unused = timed(client_add_remove)
                c_roundtrip.append(t)

            report("etcd_status_info, 3 endpoints (module)", status)
            report("etcd_member add learner + remove (2 modules)", roundtrip)
            report("client: status x3 endpoints (in process)", c_status)
            report("client: member add + remove (in process)", c_roundtrip)
        finally:
            lab.stop()


if __name__ == "__main__":
    main()

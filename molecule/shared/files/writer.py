"""Bounded background writer for the upgrade scenario.

Puts /writer/<seq> = <seq> through the members' client URLs in turn (the
first URL of each put rotates) with the collection's own gateway client,
which fails over to the next URL when one cannot be reached, as etcd's
clients do. A put that etcd answers with an error (no leader, leader
changed, timeout) is a failed attempt and is not retried. Stops when the
stop file appears, after max_seconds or after max_writes, and writes a JSON
report: acknowledged sequence numbers, failed attempts with their times and
errors, and how often a put had to fail over.

usage: writer.py URL[,URL...] PKI_DIR REPORT STOP_FILE MAX_SECONDS MAX_WRITES
"""
import base64
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import etcd_client  # noqa: E402  (copied next to this file)


def b64(text):
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def main():
    urls, pki, report, stop = sys.argv[1].split(","), sys.argv[2], sys.argv[3], sys.argv[4]
    max_seconds, max_writes = float(sys.argv[5]), int(sys.argv[6])
    clients = []
    for i in range(len(urls)):
        order = urls[i:] + urls[:i]
        clients.append(etcd_client.EtcdClient(order, ca_cert=pki + "/ca.crt", client_cert=pki + "/admin.crt",
                                              client_key=pki + "/admin.key", connect_timeout=1, timeout=5))
    acked, failed, failovers = [], [], 0
    start = time.monotonic()
    seq = 0
    while seq < max_writes and time.monotonic() - start < max_seconds and not os.path.exists(stop):
        seq += 1
        client = clients[seq % len(clients)]
        first = client.current_endpoint
        try:
            client.call("/v3/kv/put", {"key": b64("/writer/%07d" % seq), "value": b64(str(seq))})
            acked.append(seq)
        except etcd_client.EtcdError as exc:
            failed.append({"seq": seq, "at": round(time.monotonic() - start, 2), "error": str(exc)[:300]})
        if client.current_endpoint != first:
            failovers += 1
            client.current = client.endpoints.index(first)  # keep the rotation
        # About five puts a second: several land in every restart window of
        # the walk. Each put is a new TLS connection; at fifty a second the
        # writer alone kept half a core of the 2-core lab busy for 20 minutes.
        time.sleep(0.2)
    with open(report + ".tmp", "w") as fh:
        json.dump({"attempts": seq, "acked": acked, "failed": failed, "failovers": failovers,
                   "seconds": round(time.monotonic() - start, 1)}, fh)
    os.rename(report + ".tmp", report)


if __name__ == "__main__":
    main()

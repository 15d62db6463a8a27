# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see LICENSE)
"""Filter that renders an etcd_status_info result as a text table."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: status_table
short_description: Render an etcd_status_info result as a text table
version_added: "0.3.0"
description:
  - Turns the result of M(quorum.etcd.etcd_status_info) into lines of a table, one row per
    endpoint (name, endpoint, version, leader, DB size, raft term and index, error) and a summary line.
  - When the result has C(certificates) (O(quorum.etcd.etcd_status_info#module:certificates=true)), a second
    table follows, one row per certificate with its expiry and days left, and one C(expiring:) line per
    certificate that expires soon or could not be read.
options:
  _input:
    description: The registered result of M(quorum.etcd.etcd_status_info).
    type: dict
    required: true
author:
  - quorum.etcd maintainers (@quorum)
'''

EXAMPLES = r'''
- name: Print the status table
  ansible.builtin.debug:
    msg: "{{ status | quorum.etcd.status_table }}"
'''

RETURN = r'''
_value:
  description: The table's lines, header first, then the summary, the problems and the certificates.
  type: list
  elements: str
'''

from ansible.errors import AnsibleFilterError

HEADER = ("NAME", "ENDPOINT", "VERSION", "LEADER", "DB SIZE", "IN USE", "RAFT TERM", "RAFT INDEX", "ERROR")


def _size(value):
    if value is None:
        return "-"
    value = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return ("%d %s" % (value, unit)) if unit == "B" else ("%.1f %s" % (value, unit))
        value /= 1024.0
    return "-"  # pragma: no cover


def status_table(status):
    """Return the lines of a table for an etcd_status_info result."""
    if not isinstance(status, dict) or "endpoints" not in status:
        raise AnsibleFilterError("status_table expects the result of quorum.etcd.etcd_status_info, got %r" % type(status).__name__)
    rows = [HEADER]
    for ep in status["endpoints"]:
        if ep.get("reachable"):
            rows.append((
                ep.get("name") or "?", ep.get("endpoint", ""), ep.get("version") or "-",
                "yes" if ep.get("is_leader") else ("learner" if ep.get("is_learner") else "no"),
                _size(ep.get("db_size")), _size(ep.get("db_size_in_use")),
                str(ep.get("raft_term", "-")), str(ep.get("raft_index", "-")),
                "; ".join(ep.get("errors") or []),
            ))
        else:
            rows.append((ep.get("name") or "?", ep.get("endpoint", ""), "-", "-", "-", "-", "-", "-",
                         ep.get("error") or "unreachable"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    alarms = ", ".join("%s on %s" % (a.get("alarm"), a.get("member_id")) for a in status.get("alarms") or [])
    summary = "cluster %s: %d members, leader %s, %s" % (
        status.get("cluster_id") or "?", len(status.get("members") or []),
        status.get("leader_name") or "none", "healthy" if status.get("healthy") else "NOT healthy")
    if alarms:
        summary += ", alarms: " + alarms
    lines.append(summary)
    for problem in status.get("problems") or []:
        lines.append("problem: " + problem)
    # etcd_status_info with certificates=true: when each one expires.
    certs = [(c.get("kind", ""), c.get("member") or c.get("subject") or "", c.get("not_after") or "-",
              "-" if c.get("days_left") is None else str(c["days_left"]), c.get("error") or "")
             for c in status.get("certificates") or []]
    if certs:
        rows = [("CERTIFICATE", "MEMBER/CA", "EXPIRES", "DAYS", "ERROR")] + certs
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines.extend("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows)
    for sentence in status.get("expiring") or []:
        lines.append("expiring: " + sentence)
    return lines


class FilterModule(object):
    def filters(self):
        return {"status_table": status_table}

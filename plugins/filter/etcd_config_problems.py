# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see LICENSE)
"""Filter: the settings of etcd_service_extra_config that a given etcd release would not read."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: etcd_config_problems
short_description: Name the extra etcd settings a release would refuse or silently ignore
version_added: "0.3.0"
description:
  - Checks the keys of C(etcd_service_extra_config) against the etcd release that will read them.
  - etcd 3.6 renamed seventeen C(experimental-*) settings, turned six into C(feature-gates) and
    removed the v2 store and proxy settings; etcd 3.7 reads no C(experimental-*) setting at all.
    An etcd started from a configuration file skips keys it does not know without a word, so a
    setting the release does not read is lost silently; the role refuses it before any host changes.
  - Settings under their 3.6 names given to a 3.5 release are named too (3.5 reads only the
    C(experimental-*) spelling).
options:
  _input:
    description: The extra settings (C(etcd_service_extra_config)).
    type: dict
    required: true
  version:
    description: The etcd release that will read them (C(etcd_install_version)).
    type: str
    required: true
author:
  - quorum.etcd maintainers (@quorum)
'''

EXAMPLES = r'''
- name: Refuse extra settings the target release would not read
  ansible.builtin.assert:
    that: etcd_service_extra_config | quorum.etcd.etcd_config_problems(etcd_install_version) | length == 0
    fail_msg: "{{ etcd_service_extra_config | quorum.etcd.etcd_config_problems(etcd_install_version) | join(' ') }}"
'''

RETURN = r'''
_value:
  description: One sentence per refused key, naming the key, the release and what to write instead; empty when all are read.
  type: list
  elements: str
'''

from ansible.errors import AnsibleFilterError

# 3.5 spelling -> 3.6 and later spelling (etcd 3.6 etcdmain/config.go).
RENAMED = {
    "experimental-bootstrap-defrag-threshold-megabytes": "bootstrap-defrag-threshold-megabytes",
    "experimental-compact-hash-check-time": "compact-hash-check-time",
    "experimental-compaction-batch-limit": "compaction-batch-limit",
    "experimental-compaction-sleep-interval": "compaction-sleep-interval",
    "experimental-corrupt-check-time": "corrupt-check-time",
    "experimental-distributed-tracing-address": "distributed-tracing-address",
    "experimental-distributed-tracing-instance-id": "distributed-tracing-instance-id",
    "experimental-distributed-tracing-sampling-rate": "distributed-tracing-sampling-rate",
    "experimental-distributed-tracing-service-name": "distributed-tracing-service-name",
    "experimental-downgrade-check-time": "downgrade-check-time",
    "experimental-enable-distributed-tracing": "enable-distributed-tracing",
    "experimental-memory-mlock": "memory-mlock",
    "experimental-snapshot-catch-up-entries": "snapshot-catchup-entries",
    "experimental-snapshot-catchup-entries": "snapshot-catchup-entries",
    "experimental-warning-apply-duration": "warning-apply-duration",
    "experimental-warning-unary-request-duration": "warning-unary-request-duration",
    "experimental-watch-progress-notify-interval": "watch-progress-notify-interval",
}
# 3.5 boolean setting -> 3.6 feature gate (etcd 3.6 features.ExperimentalFlagToFeatureMap).
FEATURE_GATES = {
    "experimental-compact-hash-check-enabled": "CompactHashCheck",
    "experimental-enable-lease-checkpoint": "LeaseCheckpoint",
    "experimental-enable-lease-checkpoint-persist": "LeaseCheckpointPersist",
    "experimental-initial-corrupt-check": "InitialCorruptCheck",
    "experimental-stop-grpc-service-on-defrag": "StopGRPCServiceOnDefrag",
    "experimental-txn-mode-write-with-shared-buffer": "TxnModeWriteWithSharedBuffer",
}
# Settings etcd 3.6 no longer has (the v2 store and API, the v2 proxy).
REMOVED_IN_3_6 = (
    "enable-v2", "experimental-enable-v2v3", "v2-deprecation", "proxy", "proxy-failure-wait",
    "proxy-refresh-interval", "proxy-dial-timeout", "proxy-write-timeout", "proxy-read-timeout",
)
# The new spellings a 3.5 release does not read, with the one it does (the
# experimental-* keys etcd 3.5.35 reads from its configuration file).
NEW_NAMES = dict((new, old) for old, new in RENAMED.items()
                 if old not in ("experimental-snapshot-catchup-entries", "experimental-warning-unary-request-duration"))


def _minor(version):
    try:
        parts = str(version).lstrip("v").split(".")
        return int(parts[0]), int(parts[1])
    except (ValueError, IndexError):
        raise AnsibleFilterError("etcd_config_problems: %r is not an etcd version (like 3.6.16)" % (version,))


def etcd_config_problems(extra_config, version):
    """Return one sentence per key of ``extra_config`` that etcd ``version`` would not read."""
    if not isinstance(extra_config, dict):
        raise AnsibleFilterError("etcd_config_problems expects etcd_service_extra_config as a dict, got %s"
                                 % type(extra_config).__name__)
    minor = _minor(version)
    release = "etcd %s" % version
    problems = []
    for key in sorted(extra_config):
        where = "etcd_service_extra_config key %r is not read by %s" % (key, release)
        if minor >= (3, 6) and key in REMOVED_IN_3_6:
            problems.append("%s: etcd 3.6 removed it (the v2 store and proxy are gone); drop it." % where)
        elif minor >= (3, 7) and key.startswith("experimental-"):
            if key in RENAMED:
                problems.append("%s: use %r instead (renamed in etcd 3.6)." % (where, RENAMED[key]))
            elif key in FEATURE_GATES:
                problems.append("%s: use feature-gates: '%s=%s' instead (a feature gate since etcd 3.6)."
                                % (where, FEATURE_GATES[key], str(extra_config[key]).lower()))
            else:
                problems.append("%s: etcd 3.7 reads no experimental-* setting." % where)
        elif minor < (3, 6) and key in NEW_NAMES:
            problems.append("%s: before etcd 3.6 it is spelled %r." % (where, NEW_NAMES[key]))
        elif minor < (3, 6) and key == "feature-gates":
            problems.append("%s: feature gates exist from etcd 3.6; use the experimental-* setting of %s."
                            % (where, release))
    return problems


class FilterModule(object):
    def filters(self):
        return {"etcd_config_problems": etcd_config_problems}

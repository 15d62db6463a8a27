# -*- coding: utf-8 -*-
"""Bad input, each a test (issue 2; SAFETY-20, SAFETY-9).

Every case runs the real playbooks/site.yml with ansible-playbook against real
lab containers and asserts that the run

- exits non-zero,
- fails in one preflight task with ONE message (the same on every host, up to
  the host's own name) that names the bad value,
- shows changed=0 for every host in the PLAY RECAP,
- left every container blank (no etcd user, group, directory, binary or unit;
  no file under /etc, /opt, /usr or /srv modified during the run) and wrote
  no CA on the controller.

The four containers are started once (fresh) and shared: every case leaves
them blank, which each case proves. Select with ``-m lab``.
"""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.lab

PREFIX = "badin"
COUNT = 4  # 3 for the odd cluster, 2 and 4 for the even sizes

# What any part of site.yml would leave on a member (etcd_user, etcd_install,
# etcd_service, etcd_firewall defaults).
BLANK = " && ".join([
    "test ! -e /etc/etcd",
    "test ! -e /var/lib/etcd",
    "test ! -e /opt/etcd",
    "test ! -e /usr/local/bin/etcd",
    "test ! -e /usr/local/bin/etcdctl",
    "test ! -e /etc/systemd/system/etcd.service",
    "! id etcd >/dev/null 2>&1",
    "! getent group etcd >/dev/null",
])


BOOT_FILES = ("/etc", "/etc/mtab", "/etc/.pwd.lock", "/etc/machine-id", "/etc/resolv.conf", "/etc/hosts",
              "/etc/hostname")


@pytest.fixture(scope="module")
def members(lab_containers, host_sh):
    names = lab_containers(PREFIX, COUNT)
    for name in names:
        # Let first-boot jobs (tmpfiles, sysusers) finish before anything is compared.
        host_sh(name, "timeout 60 systemctl is-system-running --wait >/dev/null 2>&1")
        res = host_sh(name, BLANK)
        assert res.returncode == 0, f"{name} is not blank before the tests: {res.stdout}{res.stderr}"
    return names


@pytest.fixture
def bad_run(members, tmp_path, write_inventory, ansible_playbook, host_sh, lab_vars):
    """``bad_run(groups, all_vars=..., host_vars=..., args=...)`` writes the
    inventory in tmp_path, runs site.yml and checks everything that must hold
    for any refused input; returns the PlaybookRun for case-specific checks."""

    def run(groups, all_vars=None, host_vars=None, args=(), playbook="playbooks/site.yml"):
        inv = write_inventory(tmp_path / "inventory.json", groups, lab_vars(**(all_vars or {})), host_vars)
        since = int(time.time()) - 1
        result = ansible_playbook(inv, *args, playbook=playbook)

        assert result.rc != 0, f"bad input was accepted:\n{result}"
        assert result.recap, f"no PLAY RECAP:\n{result}"
        changed = {h: c["changed"] for h, c in result.recap.items() if c["changed"]}
        assert not changed, f"hosts changed: {changed}\n{result}"
        assert result.failures, f"no failed task:\n{result}"
        tasks = {f.task for f in result.failures}
        assert len(tasks) == 1, f"more than one task failed: {tasks}\n{result}"
        messages = {f.msg.replace(f.host, "<host>") for f in result.failures}
        assert len(messages) == 1, f"more than one failure message: {messages}\n{result}"
        assert next(iter(messages)).strip(), f"empty failure message\n{result}"

        # Nothing on any member changed (not only the ones in this inventory).
        # Files the container's own boot or Docker write (never the roles):
        # mtab, machine-id, the password lock, and Docker's resolv.conf,
        # hosts and hostname. An account change still shows in /etc/passwd.
        recent = (f"find /etc /opt /usr /srv -xdev \\( -newermt @{since} -o -newerct @{since} \\) "
                  + " ".join(f"! -path {p}" for p in BOOT_FILES) + " -print 2>/dev/null | head -n 20")
        for name in members:
            res = host_sh(name, BLANK)
            assert res.returncode == 0, f"{name} is no longer blank after:\n{result}"
            res = host_sh(name, recent)
            assert res.stdout.strip() == "", f"{name}: files changed during the run:\n{res.stdout}\n{result}"
        # Nor on the controller: the CA folder lives next to the inventory.
        assert not (tmp_path / "etcd-pki").exists(), "a CA was created on the controller"
        return result

    return run


def only_message(result) -> str:
    return result.failures[0].msg


def in_preflight(result) -> bool:
    """The failing task is an input check (an assert named "Check ..." or the
    argument spec validation), not a task that touches a host."""
    task = result.failures[0].task
    name = task.split(" : ", 1)[-1]
    return name.startswith(("Check", "Validating arguments against arg spec"))


# ---------------------------------------------------------------------------
# 1. Empty or missing group


@pytest.mark.parametrize("layout", ["group-without-hosts", "no-etcd-group", "custom-group-missing"])
def test_empty_or_missing_group(bad_run, members, layout):
    others = members[:3]
    if layout == "group-without-hosts":
        groups, extra, group = {"etcd": [], "db": others}, {}, "etcd"
    elif layout == "no-etcd-group":
        groups, extra, group = {"db": others}, {}, "etcd"
    else:  # etcd_cluster_group names a group the inventory does not have
        groups, extra, group = {"etcd": others}, {"etcd_cluster_group": "etcd_prod"}, "etcd_prod"
    result = bad_run(groups, extra)
    assert set(result.recap) == {"localhost"}, f"members were contacted:\n{result}"
    assert result.failures[0].host == "localhost"
    msg = only_message(result)
    assert f'"{group}"' in msg and "empty or missing" in msg, result


# ---------------------------------------------------------------------------
# 2. Duplicate member names (and addresses)


def test_duplicate_member_names(bad_run, members):
    hosts = members[:3]
    result = bad_run({"etcd": hosts}, host_vars={hosts[0]: {"etcd_cluster_member_name": "node-a"},
                                                 hosts[1]: {"etcd_cluster_member_name": "-bad name"},
                                                 hosts[2]: {"etcd_cluster_member_name": "node-a"}})
    assert in_preflight(result), result
    # One message names every bad setting: the clash and the malformed name.
    assert "Duplicate member names: node-a." in only_message(result), result
    assert f'Host {hosts[1]}: invalid member settings' in only_message(result), result
    assert 'etcd_cluster_member_name="-bad name"' in only_message(result), result


def test_duplicate_member_addresses(bad_run, members):
    hosts = members[:3]
    result = bad_run({"etcd": hosts}, host_vars={h: {"etcd_cluster_address": "10.99.0.7"} for h in hosts[:2]})
    assert in_preflight(result), result
    assert "Duplicate member addresses: 10.99.0.7." in only_message(result), result


# ---------------------------------------------------------------------------
# 3. Even member count (SAFETY-9)


@pytest.mark.parametrize("size", [2, 4])
def test_even_size_refused(bad_run, members, size):
    result = bad_run({"etcd": members[:size]})
    assert in_preflight(result), result
    msg = only_message(result)
    assert f"Even cluster size {size} " in msg, result
    assert "etcd_cluster_allow_even_size=true" in msg, result


@pytest.mark.parametrize("size", [2, 4])
def test_even_size_allowed_passes_the_cluster_check(bad_run, members, size):
    """With etcd_cluster_allow_even_size the member-list check passes; a
    deliberately bad version (checked later in the same preflight) then stops
    the run, so this proves the permission without deploying anything."""
    result = bad_run({"etcd": members[:size]}, {"etcd_cluster_allow_even_size": True, "etcd_install_version": "3.5"})
    assert "Even cluster size" not in result.output, result
    assert result.failures[0].task == "quorum.etcd.etcd_install : Check the install settings", result
    assert 'etcd_install_version="3.5"' in only_message(result), result
    assert "TASK [quorum.etcd.etcd_cluster : Check the members and the cluster settings]" in result.output, result


# ---------------------------------------------------------------------------
# 4. Malformed version
#
# From here on each bad value is a setting every member checks for itself:
# a one-member group is refused by the same task with the same message as
# three members would be, and the run costs less. The group-wide
# checks above (names, addresses, size) and the --tags case use three.


@pytest.mark.parametrize("version", ["3.5", "v3.5.1", "3.5.1; rm -rf /", "latest", "3.5.1-rc.0"])
def test_malformed_version(bad_run, members, version):
    result = bad_run({"etcd": members[:1]}, {"etcd_install_version": version})
    assert in_preflight(result), result
    msg = only_message(result)
    assert version in msg and "etcd_install_version" in msg, result


# ---------------------------------------------------------------------------
# 5. Malformed checksum, wrong base URL scheme


@pytest.mark.parametrize("checksum", ["abc123", "g" * 64, "a" * 63, "sha256:" + "a" * 64])
def test_malformed_checksum(bad_run, members, checksum):
    result = bad_run({"etcd": members[:1]}, {"etcd_install_checksum": checksum})
    assert in_preflight(result), result
    msg = only_message(result)
    assert checksum in msg and "etcd_install_checksum" in msg, result


@pytest.mark.parametrize("url", ["ftp://quorum-etcd-mirror:8080", "file:///srv/mirror", "quorum-etcd-mirror:8080"])
def test_bad_base_url_scheme(bad_run, members, url):
    result = bad_run({"etcd": members[:1]}, {"etcd_install_base_url": url})
    assert in_preflight(result), result
    msg = only_message(result)
    assert url in msg and "etcd_install_base_url" in msg, result


# ---------------------------------------------------------------------------
# 6. Bad firewall backend, bad client network


@pytest.mark.parametrize("backend", ["iptables", "NFTABLES"])
def test_bad_firewall_backend(bad_run, members, backend):
    result = bad_run({"etcd": members[:1]}, {"etcd_firewall_backend": backend})
    assert in_preflight(result), result
    msg = only_message(result)
    assert f"got: {backend}" in msg and "etcd_firewall_backend" in msg, result


@pytest.mark.parametrize("network", ["10.0.0.0/33", "300.1.2.3", "10.0.0.0/8 10.1.0.0/16", "db.example.com"])
def test_bad_client_network(bad_run, members, network):
    result = bad_run({"etcd": members[:1]}, {"etcd_firewall_client_networks": ["192.0.2.0/24", network]})
    assert in_preflight(result), result
    msg = only_message(result)
    assert network in msg and "etcd_firewall_client_networks" in msg, result
    assert "192.0.2.0/24" not in msg, f"the good entry is named as bad:\n{result}"


# ---------------------------------------------------------------------------
# 6. Security settings (issue 6; SAFETY-18, SAFETY-19, SAFETY-20). etcd 3.5.1
# has neither tls-min-version (3.5.8) nor peer allow-lists in its
# configuration file (3.5.14). Extra settings the target release would not
# read (issue 14) are refused the same way, naming what to write instead.

PASSWORD = "never-Printed-7"

SECURITY_CASES = {
    # Three bad settings at once: one message names each with its value.
    "weak-cipher": ({"etcd_service_tls_cipher_suites": ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                                                        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"],
                     "etcd_service_election_timeout": 400, "etcd_service_heartbeat_interval": 100,
                     "etcd_service_extra_config": {"listen-client-urls": "http://0.0.0.0:2379"}},
                    ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "etcd_service_tls_cipher_suites",
                     "etcd_service_election_timeout=400", "etcd_service_heartbeat_interval=100",
                     "keys the collection manages (listen-client-urls)"]),
    "tls13-too-old": ({"etcd_service_tls_min_version": "TLS1.3", "etcd_install_version": "3.5.1"},
                      ["etcd_service_tls_min_version=TLS1.3", "3.5.8", "etcd_install_version=3.5.1"]),
    "allow-list-too-old": ({"etcd_service_peer_cert_allowed_hostname": "peers.example.test",
                            "etcd_install_version": "3.5.1"},
                           ["etcd_service_peer_cert_allowed_hostname", "3.5.14"]),
    "experimental-on-3.7": ({"etcd_install_version": "3.7.3",
                             "etcd_service_extra_config": {"experimental-compact-hash-check-time": "2m"}},
                            ["'experimental-compact-hash-check-time' is not read by etcd 3.7.3",
                             "use 'compact-hash-check-time' instead"]),
    "v2-store-on-3.6": ({"etcd_service_extra_config": {"experimental-enable-v2v3": "/v2"}},
                        ["'experimental-enable-v2v3' is not read by etcd 3.6.16", "removed"]),
    "auth-without-password": ({"etcd_cluster_auth_enabled": True},
                              ["etcd_cluster_auth_enabled=true", "etcd_cluster_root_password"]),
    "user-with-undeclared-role": ({"etcd_auth_users": [{"name": "app", "password": PASSWORD, "roles": ["ghost"]}]},
                                  ["user app", '"ghost"', "etcd_auth_roles"]),
    "bad-permission-type": ({"etcd_auth_roles": [{"name": "app", "permissions": [{"key": "/app/", "type": "all"}]}]},
                            ["role app", '"all"', "readwrite"]),
}


@pytest.mark.parametrize("case", sorted(SECURITY_CASES))
def test_bad_security_settings(bad_run, members, case):
    settings, words = SECURITY_CASES[case]
    result = bad_run({"etcd": members[:1]}, settings)
    assert in_preflight(result), result
    msg = only_message(result)
    for word in words:
        assert word in msg, f"{word!r} not in the message:\n{result}"
    assert PASSWORD not in result.output, f"a password was printed:\n{result}"


# ---------------------------------------------------------------------------
# Found while writing these: `--tags` used to skip the up-front checks (SAFETY-20).


def test_tags_preflight_still_checks_the_version(bad_run, members):
    bad_run({"etcd": members[:3]}, {"etcd_install_version": "v3.5.1"}, args=["--tags", "preflight"])


# ---------------------------------------------------------------------------
# add_member.yml never founds a cluster (SAFETY-1): on blank hosts it stops in
# the start checks, with the command that does.


def test_add_member_on_blank_hosts_refuses_to_found_a_cluster(bad_run, members):
    result = bad_run({"etcd": members[:3]}, playbook="playbooks/add_member.yml")
    assert "Refuse a start" in result.failures[0].task, result
    msg = only_message(result)
    assert "no running cluster to add members to" in msg and "playbooks/site.yml" in msg, msg

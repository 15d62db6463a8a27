# -*- coding: utf-8 -*-
"""etcd's v2 store check before etcd 3.6 (issue 14, SAFETY-14).

etcd 3.6 keeps no v2 store. A 3.5 member that holds keys written through
etcd 3.5's v2 API cannot take them along, and etcd asks that
`etcdutl check v2store` passes before it moves. One member on 3.5.35 gets
such a key (the v2 API switched on by hand, as an older deployment may have
had it); upgrade.yml to 3.6.16 is then refused before any change, naming
the member and etcd's finding, and the member keeps running 3.5.35. The
check passing on members without such content is proven by the Molecule
upgrade walk (3.5.35 -> 3.6.16)."""

from __future__ import annotations

import pytest

from labkit import base  # tools/labkit, standard library only

pytestmark = pytest.mark.lab

PKI = "/etc/etcd/pki"
CURL = f"curl -sS --cacert {PKI}/ca.crt --cert {PKI}/admin.crt --key {PKI}/admin.key"


@pytest.fixture(scope="module")
def member(lab_containers, write_inventory, lab_vars, ansible_playbook, tmp_path_factory):
    host = lab_containers("v2st", 1)[0]
    inv = write_inventory(tmp_path_factory.mktemp("v2st") / "inventory.json", {"etcd": [host]},
                          all_vars=lab_vars(etcd_cluster_name="v2st", etcd_install_version=base.LINES["3.5"]))
    run = ansible_playbook(inv)
    assert run.rc == 0, run
    return host, inv


def test_v2_content_refuses_etcd_3_6_before_any_change(member, ansible_playbook, host_sh):
    host, inv = member
    # The v2 API on, the way an older deployment may have run it, and one key through it.
    res = host_sh(host, "sed -i 's/^enable-v2: false$/enable-v2: true/' /etc/etcd/etcd.conf.yml"
                        " && grep -q '^enable-v2: true$' /etc/etcd/etcd.conf.yml && systemctl restart etcd")
    assert res.returncode == 0, res.stdout + res.stderr
    put = ""
    for _attempt in range(30):  # bounded: etcd answers within seconds of its restart
        put = host_sh(host, f"{CURL} -X PUT https://127.0.0.1:2379/v2/keys/legacy -d value=from-v2").stdout
        if '"action":"set"' in put:
            break
        host_sh(host, "sleep 1")
    assert '"action":"set"' in put, f"the v2 API did not take the key: {put}"

    run = ansible_playbook(inv, "-e", "etcd_install_version=" + base.LINES["3.6"], playbook="playbooks/upgrade.yml")
    assert run.rc != 0, run
    assert all(r["changed"] == 0 for r in run.recap.values()), run  # refused before the snapshot (SAFETY-20)
    message = " ".join(f.msg for f in run.failures)
    assert f'etcd_install_version="{base.LINES["3.6"]}" is refused' in message, run
    assert "etcdutl check v2store" in message and host in message, run
    assert "detected custom v2 content" in message, run  # etcd's own finding, passed on
    version = host_sh(host, "/usr/local/bin/etcd --version").stdout
    assert f"etcd Version: {base.LINES['3.5']}" in version, version
    assert host_sh(host, "systemctl is-active etcd").stdout.strip() == "active"

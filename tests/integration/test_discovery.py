# -*- coding: utf-8 -*-
"""etcd's DNS discovery (issue 18, item 5; etcd_cluster_discovery=srv) on
real lab containers, with Debian's dnsmasq as the members' only resolver
(tools/labkit/nodes.py dns_up): the SRV records of
_etcd-server-ssl._tcp.etcd.lab name the members by DNS name.

- Records that leave a member out are refused on every member before any
  host changes (SAFETY-1: etcd would found a cluster without it).
- With the right records, site.yml founds the cluster through DNS (etcd's
  log says so; the configuration had discovery-srv and no initial-cluster),
  then writes the configuration "existing" with the member list; the peer
  URLs are the DNS names, the certificates carry them and the domain, so a
  client finds and verifies the cluster through _etcd-client-ssl._tcp with
  etcdctl's secure discovery (the server name is the domain); a write on
  one member is read on another; a second run changes nothing.

The tests run in order and share the three members."""
from __future__ import annotations

import json

import pytest
from labkit import nodes

pytestmark = pytest.mark.lab

PREFIX = "srv"
DNS = "srv-dns"
DOMAIN = "etcd.lab"
SERVER = f"_etcd-server-ssl._tcp.{DOMAIN}"
CLIENT = f"_etcd-client-ssl._tcp.{DOMAIN}"
PKI = "/etc/etcd/pki"
TLS = f"--cacert {PKI}/ca.crt --cert {PKI}/admin.crt --key {PKI}/admin.key"


def fqdn(host):
    return f"{host}.{DOMAIN}"


@pytest.fixture(scope="module")
def lab(lab_containers, write_inventory, lab_vars, tmp_path_factory):
    hosts = lab_containers(PREFIX, 3)
    inv = write_inventory(tmp_path_factory.mktemp(PREFIX) / "inventory.json", {"etcd": hosts},
                          all_vars=lab_vars(etcd_cluster_name=PREFIX, etcd_cluster_discovery="srv",
                                            etcd_cluster_discovery_srv=DOMAIN),
                          host_vars={h: {"etcd_cluster_address": fqdn(h)} for h in hosts})
    addresses = {fqdn(h): nodes.container_address(h) for h in hosts}

    def serve(members):
        """dnsmasq with every member's name and SRV records for ``members``."""
        ip = nodes.dns_up(DNS, addresses, {SERVER: [(fqdn(h), 2380) for h in members],
                                           CLIENT: [(fqdn(h), 2379) for h in members]}, DOMAIN)
        nodes.point_resolvers(hosts, ip)

    try:
        yield hosts, inv, serve
    finally:
        nodes.remove_containers([DNS])


def test_records_that_leave_a_member_out_are_refused_before_any_change(lab, ansible_playbook, host_sh):
    hosts, inv, serve = lab
    serve(hosts[:2])
    run = ansible_playbook(inv)
    assert run.rc != 0, run
    msg = run.failures[0].msg
    assert SERVER in msg and f"missing the member {fqdn(hosts[2])}:2380 ({hosts[2]})" in msg, run
    assert all(run.recap[h]["changed"] == 0 for h in hosts), f"a host was changed before the refusal:\n{run}"
    for host in hosts:
        assert host_sh(host, "test -e /etc/etcd/etcd.conf.yml").returncode != 0, host


def test_the_cluster_is_founded_through_dns_and_found_by_clients(lab, ansible_playbook, host_sh):
    hosts, inv, serve = lab
    serve(hosts)
    run = ansible_playbook(inv)
    assert run.rc == 0, run

    # etcd took its initial cluster from the SRV records...
    for host in hosts:
        log = host_sh(host, "journalctl -u etcd --no-pager -o cat | grep -c 'got bootstrap from DNS for etcd-server'")
        assert int(log.stdout.strip() or 0) >= 3, (host, log.stdout, log.stderr)
        config = host_sh(host, "cat /etc/etcd/etcd.conf.yml").stdout
        # ...and the configuration now names the members, state "existing"
        # (SAFETY-1), with no discovery left in it.
        assert "initial-cluster-state: existing" in config and "discovery-srv" not in config, (host, config)
        assert f"initial-cluster: {hosts[0]}=https://{fqdn(hosts[0])}:2380" in config, (host, config)

    listed = json.loads(host_sh(hosts[0], f"etcdctl {TLS} --endpoints https://127.0.0.1:2379 member list -w json")
                        .stdout)["members"]
    assert sorted((m["name"], m["peerURLs"]) for m in listed) == \
        [(h, [f"https://{fqdn(h)}:2380"]) for h in hosts], listed

    # A client finds the members through _etcd-client-ssl._tcp and checks
    # their certificates against the domain (--insecure-discovery=false).
    # etcdctl takes --endpoints only when discovery finds nothing: here
    # they name a closed port, so an answer proves discovery found them.
    found = f"etcdctl {TLS} --discovery-srv {DOMAIN} --insecure-discovery=false --endpoints https://127.0.0.1:1"
    put = host_sh(hosts[0], f"{found} put /discovery/probe via-dns")
    assert put.returncode == 0 and "OK" in put.stdout, (put.stdout, put.stderr)
    got = host_sh(hosts[2], f"etcdctl {TLS} --endpoints https://{fqdn(hosts[2])}:2379 get --print-value-only "
                            "/discovery/probe")
    assert got.stdout.strip() == "via-dns", (got.stdout, got.stderr)
    health = host_sh(hosts[1], f"{found} endpoint health --cluster -w json")
    assert health.returncode == 0, (health.stdout, health.stderr)
    assert sorted(e["endpoint"] for e in json.loads(health.stdout) if e["health"]) == \
        [f"https://{fqdn(h)}:2379" for h in hosts], health.stdout
    lost = host_sh(hosts[1], f"etcdctl {TLS} --discovery-srv other.lab --endpoints https://127.0.0.1:1 "
                             "--dial-timeout 2s put /discovery/probe x")
    assert lost.returncode != 0 and "_etcd-client-ssl._tcp.other.lab" in lost.stderr, (lost.stdout, lost.stderr)

    rerun = ansible_playbook(inv)
    assert rerun.rc == 0 and all(rerun.recap[h]["changed"] == 0 for h in hosts), rerun

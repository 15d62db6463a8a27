#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_member
short_description: Add, promote and remove etcd cluster members safely
version_added: "0.3.0"
description:
  - Adds a member to a running etcd cluster (as a learner by default), promotes a
    learner to a voting member once it has caught up, removes a member (handing
    leadership over first when it leads, O(move_leader)), or keeps a member and
    moves leadership away from it (O(state=follower)).
  - Talks to etcd's v3 HTTP/JSON gateway using only the Python standard library.
  - Refuses, before changing anything, a removal that would leave fewer started
    voting members than a quorum of the new size, and an addition while another
    learner is pending, a member was added but never started, a voting member is
    down, or the cluster has no leader (SAFETY-6, SAFETY-7, SAFETY-8).
    O(force=true) overrides these refusals.
  - Removing a member that is not there succeeds with C(changed=false).
author:
  - quorum.etcd maintainers (@quorum)
extends_documentation_fragment:
  - quorum.etcd.etcd
attributes:
  check_mode:
    description: Fully supported; the member list is read and nothing is changed.
    support: full
  diff_mode:
    description: Shows the member list before and after.
    support: full
options:
  name:
    description:
      - Member name (etcd C(--name)).
      - etcd only learns a member's name once it has started, so a member that
        was added but never started is found by O(peer_urls) only.
      - At least one of O(name) and O(peer_urls) is required.
    type: str
  peer_urls:
    description:
      - Peer URLs of the member, like C(https://10.0.0.4:2380).
      - Required to add a member. When given together with O(name), both must
        designate the same member.
      - This module does not change the peer URLs of an existing member; a
        mismatch is an error.
    type: list
    elements: str
  state:
    description:
      - V(present) adds the member when missing (and promotes it when O(learner=false)).
      - V(absent) removes it.
      - V(follower) (added in 0.2.0) keeps the member and makes sure it does not lead. When it is the leader,
        leadership moves to the most up-to-date other started voting member and the module waits until that
        member leads. Rolling restarts use it before restarting the leader, so clients see one quick leader
        change instead of an election timeout.
    type: str
    choices: [present, absent, follower]
    default: present
  learner:
    description:
      - When not set, a missing member is added as a learner and an existing member is left as it is.
      - V(true) adds a missing member as a learner. A voting member cannot become a learner again (error).
      - V(false) on an existing learner promotes it, once etcd says it is in sync with the
        leader; the promotion is retried for up to O(wait_timeout) seconds.
      - V(false) on a missing member adds it directly as a voting member, which is refused
        unless O(force=true) (SAFETY-6, a new member joins as a learner).
    type: bool
  wait_timeout:
    description:
      - Seconds to keep retrying a change that etcd refuses for a transient reason, before failing.
      - A promotion is retried while etcd says the learner is not in sync with the leader yet.
      - An addition, removal or promotion is retried while etcd answers C(unhealthy cluster), which its
        strict reconfiguration check does until the leader has been connected to every voting member
        for 5 seconds (just after a member started, or never while a voting member is down).
      - An addition is also retried while etcd answers C(member not found), which it does when the same
        peer URLs were removed less than a second before (etcd derives member IDs from peer URLs and time).
      - A refused request changes nothing, so retrying is safe.
    type: float
    default: 60
  wait_delay:
    description:
      - Seconds between attempts.
    type: float
    default: 2
  move_leader:
    description:
      - With O(state=absent), when the member to remove is the current leader, hand leadership to the
        most up-to-date other started voting member first, and wait (up to O(wait_timeout)) until that
        member leads. The removal then does not cost an election while the departing leader steps down.
      - The transfer request is sent to the leader's own client URLs, which must be reachable from where
        the module runs.
    type: bool
    default: true
  force:
    description:
      - Skip the quorum and one-change-at-a-time safety checks. etcd's own checks still apply.
      - Only for recovering a broken cluster, by someone who has read SAFETY.md.
    type: bool
    default: false
notes:
  - To count started voting members (before a removal or an addition), every voting member's client URLs are
    queried (like C(etcdctl --cluster)) with the same TLS settings. A member that cannot be
    reached from where the module runs counts as not started, so the check errs on the safe side.
  - The remove request is sent preferably to an endpoint that is not the member being removed.
seealso:
  - module: quorum.etcd.etcd_status_info
'''

EXAMPLES = r'''
- name: Set connection options once for every quorum.etcd module
  module_defaults:
    group/quorum.etcd.etcd:
      endpoints: "{{ etcd_cluster_members | map(attribute='client_url') }}"
      ca_cert: /etc/etcd/pki/ca.crt
      client_cert: /etc/etcd/pki/admin.crt
      client_key: /etc/etcd/pki/admin.key
  block:
    - name: Add etcd4 as a learner
      quorum.etcd.etcd_member:
        name: etcd4
        peer_urls: [https://10.0.0.14:2380]
        state: present
        learner: true

    # ... start etcd4 with initial-cluster-state existing ...

    - name: Promote etcd4 once it has caught up
      quorum.etcd.etcd_member:
        name: etcd4
        peer_urls: [https://10.0.0.14:2380]
        learner: false
        wait_timeout: 120

    - name: Remove etcd2 (refused if the rest would not hold a quorum)
      quorum.etcd.etcd_member:
        name: etcd2
        state: absent
'''

RETURN = r'''
member:
  description:
    - The member after the run (predicted in check mode); empty when it is absent.
    - O(name) is empty for a member that was added but has not started yet.
  returned: always
  type: dict
  contains:
    id:
      description: Member ID, a uint64 as a decimal string. Empty in check mode for a member not added yet.
      type: str
      sample: "10501334649042878790"
    id_hex:
      description: Member ID in hexadecimal, as etcdctl prints it.
      type: str
      sample: "91bc3c398fb3c146"
    name:
      description: Member name.
      type: str
      sample: etcd4
    peer_urls:
      description: Peer URLs.
      type: list
      elements: str
      sample: [https://10.0.0.14:2380]
    client_urls:
      description: Client URLs (empty until the member has started).
      type: list
      elements: str
      sample: [https://10.0.0.14:2379]
    is_learner:
      description: Whether the member is a non-voting learner.
      type: bool
      sample: false
members:
  description: The cluster member list after the run (predicted in check mode), each entry like RV(member).
  returned: always
  type: list
  elements: dict
  sample:
    - id: "10501334649042878790"
      id_hex: "91bc3c398fb3c146"
      name: etcd1
      peer_urls: [https://10.0.0.11:2380]
      client_urls: [https://10.0.0.11:2379]
      is_learner: false
action:
  description: What was done (or would be done in check mode).
  returned: always
  type: str
  sample: add_learner
  choices: [none, add_learner, add_voting, promote, remove]
leader_moved_to:
  description:
    - Name of the member that leadership was handed to (before the removal with O(state=absent)); empty
      when the member was not the leader. With O(state=follower) in check mode, the member it would go to.
  returned: when a voting member was removed (not in check mode) with O(move_leader=true), and with O(state=follower)
  type: str
  sample: etcd2
cluster_id:
  description: Cluster ID as a decimal string.
  returned: always
  type: str
  sample: "14841639068965178418"
'''

import copy

from ansible_collections.quorum.etcd.plugins.module_utils.etcd_client import (
    EtcdConfigError,
    EtcdError,
    EtcdLearnerNotReady,
    EtcdMemberNotFound,
    EtcdNoLeader,
    EtcdTimeout,
    EtcdUnhealthyCluster,
    Refusal,
    normalize_url,
    quorum,
    run_module,
    validate_url,
    wait_until,
)


class Refused(Refusal):
    """A safety check refused the change (before anything changed)."""


class Conflict(Refusal):
    """name and peer_urls designate different members, or similar."""


def find_member(members, name, peer_urls):
    """Return the member matching name and/or peer_urls, or None.

    Raises Conflict when name and peer URLs point at different members.
    """
    wanted = set(normalize_url(u) for u in peer_urls or [])
    by_url = [m for m in members if wanted & set(normalize_url(u) for u in m["peer_urls"])]
    by_name = [m for m in members if name and m["name"] == name]
    if len(by_url) > 1:
        raise Conflict("peer_urls %s match several members: %s"
                       % (sorted(peer_urls), ", ".join(_label(m) for m in by_url)))
    if by_url and by_name and by_url[0]["id"] != by_name[0]["id"]:
        raise Conflict("name %r is member %s but peer_urls %s belong to member %s"
                       % (name, _label(by_name[0]), sorted(peer_urls), _label(by_url[0])))
    found = (by_url or by_name or [None])[0]
    if found and name and found["name"] and found["name"] != name:
        raise Conflict("peer_urls %s belong to member %s, not to %r" % (sorted(peer_urls), _label(found), name))
    if found and peer_urls and set(normalize_url(u) for u in found["peer_urls"]) != wanted:
        raise Conflict("member %s has peer URLs %s, not %s; this module does not change peer URLs"
                       % (_label(found), found["peer_urls"], sorted(peer_urls)))
    return found


def _label(member):
    return "%s (id %s)" % (member["name"] or "<not started>", member["id_hex"])


def plan(members, target, params):
    """Decide the action. Pure: used the same way in check mode and for real."""
    state, learner = params["state"], params["learner"]
    if state == "absent":
        return "remove" if target else "none"
    if target is None:
        if not params["peer_urls"]:
            raise Conflict("member %r is not in the cluster and peer_urls is not given, so it cannot be added"
                           % params["name"])
        return "add_voting" if learner is False else "add_learner"
    if learner is False and target["is_learner"]:
        return "promote"
    if learner is True and not target["is_learner"]:
        raise Conflict("member %s is a voting member; etcd cannot turn it back into a learner" % _label(target))
    return "none"


def check_add(members, has_leader, action, started_ids=None):
    """SAFETY-6: one change at a time, new members join as learners.
    SAFETY-8: a failed member is removed before its replacement is added."""
    if action == "add_voting":
        raise Refused("refusing to add a voting member directly: a new member joins as a learner "
                      "(learner: true), starts, and is promoted once caught up (SAFETY-6)")
    learners = [m for m in members if m["is_learner"]]
    if learners:
        raise Refused("refusing to add a member while learner %s is pending; start and promote or remove it first "
                      "(SAFETY-6)" % ", ".join(_label(m) for m in learners))
    unstarted = [m for m in members if not m["name"] and not m["client_urls"]]
    if unstarted:
        raise Refused("refusing to add a member while member %s was added but never started (SAFETY-6)"
                      % ", ".join("%s %s" % (_label(m), m["peer_urls"]) for m in unstarted))
    if not has_leader:
        raise Refused("refusing to add a member: the cluster has no leader (SAFETY-6)")
    if started_ids is not None:
        down = [m for m in members if m["id"] not in started_ids]
        if down:
            raise Refused("refusing to add a member while voting member %s is down or unreachable; remove a failed "
                          "member before adding its replacement (SAFETY-8)" % ", ".join(_label(m) for m in down))


def check_remove(members, target, started_ids):
    """SAFETY-7: the remaining started voting members must hold a quorum of the new size."""
    if target["is_learner"]:
        return  # learners do not vote: quorum unchanged
    remaining = [m for m in members if not m["is_learner"] and m["id"] != target["id"]]
    if not remaining:
        raise Refused("refusing to remove %s: it is the last voting member (SAFETY-7)" % _label(target))
    started = [m for m in remaining if m["id"] in started_ids]
    need = quorum(len(remaining))
    if len(started) < need:
        down = [m for m in remaining if m["id"] not in started_ids]
        raise Refused("refusing to remove %s: only %d of the %d remaining voting members are started and healthy "
                      "(not: %s), a cluster of %d needs %d (SAFETY-7)"
                      % (_label(target), len(started), len(remaining), ", ".join(_label(m) for m in down),
                         len(remaining), need))


def member_statuses(client, members):
    """Status of each member whose client URL answers with a leader, by ID."""
    found = {}
    for m in members:
        for url in m["client_urls"]:
            try:
                status = client.status(endpoint=url)
            except EtcdError:
                continue
            if status["member_id"] == m["id"] and status["leader_id"] != "0":
                found[m["id"]] = status
                break
    return found


def leader_client_url(client):
    """Client URL of the current leader, or None when it cannot be told (the
    request then goes through the usual endpoints)."""
    try:
        leader_id = client.status()["leader_id"]
        leader = next((m for m in client.member_list()[1] if m["id"] == leader_id), None)
    except EtcdError:
        return None
    return leader["client_urls"][0] if leader and leader["client_urls"] else None


def started_members(client, members):
    """IDs of members whose client URL answers a status with a leader."""
    return set(member_statuses(client, members))


def choose_successor(members, target, statuses):
    """The started voting member, other than target, with the highest raft index."""
    voters = [m for m in members if not m["is_learner"] and m["id"] != target["id"] and m["id"] in statuses]
    if not voters:
        return None
    return max(voters, key=lambda m: (statuses[m["id"]]["raft_index"], m["id"]))


def move_leadership(client, members, target, params, then="removing it; nothing was removed"):
    """If target leads, hand leadership to another started voter and wait for it.

    Returns the member that leads afterwards, or None when target was not the leader.
    """
    statuses = member_statuses(client, members)
    own = statuses.get(target["id"])
    if not own or own["leader_id"] != target["id"]:
        return None
    successor = choose_successor(members, target, statuses)
    if successor is None:
        raise Refused("cannot move leadership away from %s: no other started voting member" % _label(target))
    errors = []
    for url in target["client_urls"]:
        try:
            client.move_leader(url, successor["id"])
            break
        except EtcdError as exc:
            errors.append(str(exc))
    else:
        raise Refused("could not move leadership from %s to %s before %s: %s"
                      % (_label(target), _label(successor), then, "; ".join(errors)))

    def moved():
        try:
            return client.status(endpoint=successor["client_urls"][0])["leader_id"] == successor["id"]
        except EtcdError:
            return False

    if not wait_until(moved, params["wait_timeout"], delay=min(params["wait_delay"], 0.5)):
        raise Refused("leadership did not reach %s within %gs before %s"
                      % (_label(successor), params["wait_timeout"], then))
    return successor


def predict(members, target, action, params):
    after = copy.deepcopy(members)
    if action in ("add_learner", "add_voting"):
        new = {"id": "", "id_hex": "", "name": "", "peer_urls": list(params["peer_urls"]),
               "client_urls": [], "is_learner": action == "add_learner"}
        return after + [new], new
    if action == "remove":
        return [m for m in after if m["id"] != target["id"]], {}
    if action == "promote":
        for m in after:
            if m["id"] == target["id"]:
                m["is_learner"] = False
                return after, m
    return after, copy.deepcopy(target) if target else {}


def validate_params(params):
    if params["name"] is not None and not params["name"].strip():
        raise EtcdConfigError("name must not be empty")
    for url in params["peer_urls"] or []:
        validate_url(url, what="peer URL")
    if params["peer_urls"] is not None and not params["peer_urls"]:
        raise EtcdConfigError("peer_urls must not be an empty list")
    for opt in ("wait_timeout", "wait_delay"):
        if params[opt] is None or params[opt] < 0:
            raise EtcdConfigError("%s must be zero or a positive number of seconds, got %r" % (opt, params[opt]))


def retrying(what, func, params, transient=(EtcdLearnerNotReady, EtcdUnhealthyCluster)):
    """Call func, retrying while etcd refuses for a transient reason (bounded).

    A learner not in sync yet (promote), or an "unhealthy cluster": etcd's strict
    reconfig check wants the leader connected to every voting member for the last
    5 seconds, which is not yet true just after a member (re)started.
    Nothing is applied by a refused request, so retrying is safe.
    """
    hints = {
        EtcdLearnerNotReady: "is the learner started?",
        EtcdUnhealthyCluster: "is every voting member up and connected to the leader?",
        EtcdMemberNotFound: "the same peer URLs were removed within the last second",
    }
    outcome = {}

    def attempt():
        try:
            outcome["value"] = func()
            return True
        except transient as exc:
            outcome["refusal"] = exc
            return False

    if wait_until(attempt, params["wait_timeout"], delay=params["wait_delay"]):
        return outcome["value"]
    exc = outcome["refusal"]
    raise Refused("%s: etcd still refuses after %gs (%s): %s"
                  % (what, params["wait_timeout"], hints.get(type(exc), "transient"), exc))


def run(module, client):
    params = module.params
    try:
        header, before = client.member_list()
    except (EtcdNoLeader, EtcdTimeout) as exc:
        raise Refused("cannot read the live member list, the cluster may have no leader or no quorum; "
                      "nothing was changed: %s" % exc)
    target = find_member(before, params["name"], params["peer_urls"])
    if params["state"] == "follower":
        return run_follower(module, client, header, before, target)
    action = plan(before, target, params)
    result = {"changed": action != "none", "action": action, "cluster_id": header["cluster_id"]}

    if action != "none" and not params["force"]:
        if action in ("add_learner", "add_voting"):
            check_add(before, client.status()["leader_id"] != "0", action,
                      started_members(client, [m for m in before if not m["is_learner"]]))
        elif action == "remove":
            voters = [m for m in before if not m["is_learner"] and m["id"] != target["id"]]
            check_remove(before, target, started_members(client, voters))
        elif action == "promote" and client.status()["leader_id"] == "0":
            raise Refused("refusing to promote %s: the cluster has no leader" % _label(target))

    after, member = predict(before, target, action, params)
    if not module.check_mode:
        if action in ("add_learner", "add_voting"):
            # etcd derives a new member's ID from its peer URLs and the time in
            # seconds: re-adding peer URLs removed within the same second hits the
            # removed ID and etcd answers "member not found". Retry that too.
            member, after = retrying(
                "adding %s" % params["peer_urls"],
                lambda: client.member_add(params["peer_urls"], is_learner=action == "add_learner"), params,
                transient=(EtcdUnhealthyCluster, EtcdMemberNotFound))
        elif action == "remove":
            if params["move_leader"] and not target["is_learner"]:
                successor = move_leadership(client, before, target, params)
                result["leader_moved_to"] = successor["name"] if successor else ""
            client.prefer_last(target["client_urls"])
            after = retrying("removing %s" % _label(target), lambda: client.member_remove(target["id"]), params)
        elif action == "promote":
            after = retrying("promoting %s" % _label(target),
                             lambda: client.member_promote(target["id"], endpoint=leader_client_url(client)), params)
            member = next((m for m in after if m["id"] == target["id"]), member)

    result.update(member=member, members=after)
    if module._diff:
        result["diff"] = {"before": {"members": before}, "after": {"members": after}}
    return result


def run_follower(module, client, header, members, target):
    """state=follower: move leadership away from target when it leads."""
    if target is None:
        raise Refused("%s is not a member of the cluster" % (module.params["name"] or module.params["peer_urls"]))
    statuses = member_statuses(client, members)
    own = statuses.get(target["id"])
    leads = bool(own) and own["leader_id"] == target["id"]
    result = {"changed": leads, "action": "move_leader" if leads else "none", "cluster_id": header["cluster_id"],
              "member": target, "members": members, "leader_moved_to": ""}
    if leads:
        successor = choose_successor(members, target, statuses)
        if successor is None:
            raise Refused("cannot move leadership away from %s: no other started voting member" % _label(target))
        if not module.check_mode:
            successor = move_leadership(client, members, target, module.params, then="going on") or successor
        result["leader_moved_to"] = successor["name"]
    return result


def main():
    run_module(dict(
        name=dict(type="str"),
        peer_urls=dict(type="list", elements="str"),
        state=dict(type="str", default="present", choices=["present", "absent", "follower"]),
        learner=dict(type="bool"),
        wait_timeout=dict(type="float", default=60.0),
        wait_delay=dict(type="float", default=2.0),
        move_leader=dict(type="bool", default=True),
        force=dict(type="bool", default=False),
    ), run, validate=validate_params, required_one_of=[["name", "peer_urls"]])


if __name__ == "__main__":
    main()

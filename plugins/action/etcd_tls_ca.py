# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""quorum.etcd.etcd_tls_ca run in the controller's Ansible process
(plugins/plugin_utils/etcd_controller_action.py says why)."""

from __future__ import annotations

from ansible_collections.quorum.etcd.plugins.modules import etcd_tls_ca
from ansible_collections.quorum.etcd.plugins.plugin_utils.etcd_controller_action import ControllerModuleAction


class ActionModule(ControllerModuleAction):
    MODULE = etcd_tls_ca

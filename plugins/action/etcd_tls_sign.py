# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""quorum.etcd.etcd_tls_sign run in the controller's Ansible process.

The CA key stays on the controller (SAFETY-17), where the requests are
signed, so the module never needs a connection: run here, it costs no Python
start, no module payload and no second import of cryptography (issue 17).
The module file keeps the options, the documentation and the code
(plugins/modules/etcd_tls_sign.py)."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.quorum.etcd.plugins.modules import etcd_tls_sign


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, params = self.validate_argument_spec(argument_spec=etcd_tls_sign.ARGUMENT_SPEC)
        result.update(etcd_tls_sign.outcome(params))
        return result

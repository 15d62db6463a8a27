# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see LICENSE)
"""Run a controller-only module in the controller's Ansible process.

The CA is made and the members' requests are signed on the controller only
(SAFETY-17), so those modules never need a connection: run here, a call
costs no Python start, no module payload and no second import of
cryptography (issue 17). The module file keeps the options (its
``ARGUMENT_SPEC``), the documentation and the code (its
``outcome(params, check_mode)``, which ``main()`` uses too)."""

from __future__ import annotations

from ansible.plugins.action import ActionBase


class ControllerModuleAction(ActionBase):
    """Subclasses name the module file in ``MODULE``."""

    MODULE = None
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        # A bad option fails the task here with Ansible's own message.
        _validation, params = self.validate_argument_spec(argument_spec=self.MODULE.ARGUMENT_SPEC)
        result.update(self.MODULE.outcome(params, bool(self._task.check_mode)))
        return result

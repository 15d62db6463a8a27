# -*- coding: utf-8 -*-
"""The quorum.etcd lab, one concern per file; tools/lab.py is its command line.

- base: paths, names and versions; running commands
- venvs: the controller venvs of the ansible-core matrix
- engine: the Docker engine, the systemd image, the network, host limits
- mirror: etcd release archives and the HTTP mirror serving them
- prepare: all of the above in one call (``setup``)
- nodes: member containers and their inventory
- suite: the ``test`` command (stages on two workers)
- bench: the ``bench`` command

Modules import only from modules above them in this list, never from
tools/lab.py or from tests/; tests import from here."""

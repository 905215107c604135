"""The checkpoint folders of analysis runs: keyed by the configuration that shapes the run."""

import dataclasses

from analysis._training import _LATER_FIELDS, _key
from nets import TrainConfig


def test_a_field_added_later_keeps_old_folders_at_its_default():
    cfg = TrainConfig(dataset="blobs", kind="per-layer", depth=4, adaptive_depth=True)
    old = {k: v for k, v in cfg.to_dict().items() if k not in _LATER_FIELDS}

    class Old:  # a configuration as written before the field existed
        def to_dict(self):
            return dict(old)

    assert _key(cfg) == _key(Old())
    centred = dataclasses.replace(cfg, depth_criterion="centred")
    assert _key(centred) != _key(cfg)
    assert _key(dataclasses.replace(cfg, seed=1)) != _key(cfg)

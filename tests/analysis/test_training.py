"""The checkpoint folders of analysis runs: keyed by the configuration that shapes the run."""

import dataclasses

from analysis._training import _LATER_FIELDS, _key, config_identity
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


def test_a_run_keeping_its_epochs_has_its_own_folder():
    """keep_epochs changes no weight, but a run that kept no epochs cannot give them: at its
    default it leaves the key as it was, True keys another folder."""
    cfg = TrainConfig(dataset="blobs", kind="shared", depth=3)
    assert "keep_epochs" not in config_identity(cfg)
    assert config_identity(dataclasses.replace(cfg, keep_epochs=True))["keep_epochs"] is True
    assert _key(dataclasses.replace(cfg, keep_epochs=True)) != _key(cfg)

"""Fine-tuning: named submodules kept fixed for the first epochs of a run, then trained."""

import logging
from collections.abc import Sequence

import pytorch_lightning as pl
from torch.nn.modules.batchnorm import _BatchNorm

log = logging.getLogger(__name__)


class FreezeConfigError(ValueError):
    """`freeze.modules` names a module the model lacks, or the run has several processes."""


class Freeze(pl.Callback):
    """The parameters of `modules` (`encoder`, `frontend`, `encoder.layers.0`, ...) have
    requires_grad False for the first `epochs` epochs, then True.

    The optimizer holds every parameter from the start (`ASRModel.configure_optimizers`); torch's
    optimizers skip a parameter without a gradient (no update, no weight decay, no moments), so
    a frozen one stays as it is and, unfrozen, is trained at the others' learning rate (the
    scheduler's, no extra param group to know of) from fresh moments. Whether a module is frozen
    follows from the epoch alone, set at the start of training and of each epoch: a run resumed
    anywhere, across the unfreezing too, freezes as the uninterrupted one did. BatchNorm layers
    of a frozen module are in eval mode (their running statistics fixed); dropout still acts.
    """

    def __init__(self, modules: Sequence[str] = (), epochs: int = 0) -> None:
        self.modules = list(modules)
        self.epochs = epochs
        self._frozen: bool | None = None  # as last set, for the log

    @property
    def active(self) -> bool:
        return bool(self.modules) and self.epochs > 0

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage != "fit" or not self.active:
            return
        children = ", ".join(name for name, _ in pl_module.named_children())
        for name in self.modules:
            try:
                pl_module.get_submodule(name)
            except AttributeError:
                raise FreezeConfigError(
                    f"freeze.modules: the model has no module {name} (it has: {children})"
                ) from None
        if trainer.world_size > 1:
            raise FreezeConfigError(
                "freeze.modules: not with several processes (DDP registers only the parameters "
                "that train when it starts): train with trainer.devices=1, or freeze.modules=[]"
            )

    def _apply(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self.active:
            return
        frozen = trainer.current_epoch < self.epochs
        for name in self.modules:
            module = pl_module.get_submodule(name)
            module.requires_grad_(not frozen)
            for layer in module.modules():
                if isinstance(layer, _BatchNorm):
                    layer.train(not frozen)
        if frozen and self._frozen is not True:
            log.info("freeze: %s frozen until epoch %d", ", ".join(self.modules), self.epochs)
        elif not frozen and self._frozen:
            log.info("freeze: %s trained from epoch %d", ", ".join(self.modules), self.epochs)
        self._frozen = frozen

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._apply(trainer, pl_module)

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._apply(trainer, pl_module)

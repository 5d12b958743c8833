"""A resumed run's training loader continues from the checkpoint's place in the epoch.

Lightning saves a stateful training loader's `state_dict()` in each checkpoint and hands it back
when the fit loop first sets up the training data. When `configure_optimizers` reads
`trainer.estimated_stepping_batches` (the schedulers' total steps), that setup comes before the
checkpoint is read, and the saved position is left unused (Lightning issue #20550): the resumed
epoch would start again from its first batch.
"""

import pytorch_lightning as pl


class LoaderPosition(pl.Callback):
    """At train start, loads the training loader states Lightning left pending; a no-op otherwise.

    In time for `ResumableLoader`, which reads its sampler only at the first batch.
    """

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        trainer.fit_loop._load_combined_loader_states()

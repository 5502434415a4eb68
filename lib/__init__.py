"""The thin library behind the runnable book on diffusion models.

Modules, one concept each: :mod:`lib.config` (paths, data root, short mode), :mod:`lib.data`
(MNIST tensors), :mod:`lib.schedules`, :mod:`lib.models`, :mod:`lib.diffusion` (forward process,
loss, sampler), :mod:`lib.precision`, :mod:`lib.training` (configs, loop, checkpoints),
:mod:`lib.classifier` and :mod:`lib.metrics` (sample quality), :mod:`lib.viz` and :mod:`lib.widgets`;
command lines in :mod:`lib.train`, :mod:`lib.sample`, :mod:`lib.bench`, :mod:`lib.compare_precision`,
:mod:`lib.classifier` and :mod:`lib.metrics`.
"""
__version__ = "0.1.0"

"""The thin library behind the runnable book on diffusion models.

Modules, one concept each:

- where things are: :mod:`lib.config` (paths, data root, short mode), :mod:`lib.data` (MNIST tensors);
- the model: :mod:`lib.schedules` (noise schedules), :mod:`lib.processes` (the forward-process
  interface and Algorithm 1), :mod:`lib.diffusion` (DDPM's Gaussian process and its sampler steps),
  :mod:`lib.sampling` (the one sampling loop: ancestral, DDIM, respacing, guidance),
  :mod:`lib.networks` (the coursework CNN, a U-Net, autoencoder-style decoders);
- cold diffusion: :mod:`lib.degradations` (blur, row/column averaging, downsampling as forward
  processes and their Algorithms 1 and 2), :mod:`lib.mixture` (the Gaussian-mixture start for
  generation), :mod:`lib.restoration` (restoring test digits, for Table 1);
- training: :mod:`lib.configs` (configurations, named and from TOML), :mod:`lib.training` (the loop),
  :mod:`lib.ema`, :mod:`lib.precision`, :mod:`lib.checkpoints` (file I/O), :mod:`lib.runs` (loading a
  trained run);
- sample quality: :mod:`lib.classifier` (the MNIST classifier), :mod:`lib.metrics` (FID, KID, IS,
  precision and recall on its features), :mod:`lib.inception` (the standard InceptionV3 FID and IS),
  :mod:`lib.probes` (image sets of known quality), :mod:`lib.diagnostics` (class histograms, confidence,
  nearest training digits), :mod:`lib.quality` (time to quality: train for a budget in minutes, then
  score);
- comparing runs: :mod:`lib.compare` (what a configuration changes, how far a run got),
  :mod:`lib.epoch_scores` (a run's scores at several epochs, kept in a JSON record),
  :mod:`lib.sampler_sweep` (one model's scores under several samplers and numbers of steps),
  :mod:`lib.tables` (tables that render as tables in the book);
- pictures: :mod:`lib.viz` and :mod:`lib.widgets`.

Command lines live in :mod:`lib.cli`, one module per command; ``python -m lib.<command>`` runs
:mod:`lib.cli.<command>` (``train``, ``sample``, ``info``, ``bench``, ``metrics``, ``classifier``,
``compare_precision``, ``feature_compare``, ``restore``, ``score_epochs``, ``sweep_samplers``).
"""
__version__ = "0.1.0"

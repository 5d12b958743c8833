"""Data written as Lhotse cuts manifests and Shar shards: `asrlab-data shard` and `asrlab-data
kaldi` (asrlab.cli.data)."""

"""Transcribing audio files with a trained model: input files, chunking of long recordings,
word times and output formats (used by asrlab-transcribe)."""

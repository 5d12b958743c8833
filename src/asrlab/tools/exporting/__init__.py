"""Exporting a trained CTC model (frontend, encoder, head) to TorchScript and ONNX, with the
tokenizer and a description of its inputs and outputs, for use without asrlab (asrlab-export)."""

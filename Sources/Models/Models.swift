// Models: everything a Hugging Face checkpoint needs to run: safetensors, configs, the tokenizer, the
// image processor, the CLIP vision tower, the projector, the LLaMA decoder, the KV cache and generation.

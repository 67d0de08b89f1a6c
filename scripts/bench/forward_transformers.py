#!/usr/bin/env python3
"""The transformers side of scripts/bench/forward: the same work as `focus-bench forward` on the same
checkpoint, in float32 with the same number of threads, on the token ids and pixel values that
focus-bench wrote to --dump (so both backends run exactly the same input). Prints one JSON line.

  python scripts/bench/forward_transformers.py --model DIR --dump DIR [--threads N] [--repeat N]
"""
import argparse
import inspect
import json
import resource
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from transformers import LlavaForConditionalGeneration
from transformers.utils import logging as hf_logging


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--dump", type=Path, required=True, help="input.json + pixel_values.f32 from focus-bench forward")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    hf_logging.set_verbosity_error()

    spec = json.loads((args.dump / "input.json").read_text())
    size = spec["image_size"]
    ids = torch.tensor([spec["input_ids"]], dtype=torch.long)
    pixels = torch.from_numpy(np.fromfile(args.dump / "pixel_values.f32", dtype=np.float32).reshape(1, 3, size, size))
    steps = spec["decode_tokens"]

    t0 = time.perf_counter()
    model = LlavaForConditionalGeneration.from_pretrained(str(args.model), dtype=torch.float32)
    model.eval()
    load = time.perf_counter() - t0
    rss_after_load = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    # transformers 5 renames `past_key_values` to `cache` (the old name warns until 5.40).
    cache_arg = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
    prefill, decode = [], []
    # Logits of the last position only, as generate() asks for them and as focus computes them: the
    # same work on both sides (all 600 positions' logits would add ~8 % to the quarter model's FLOPs).
    last = {"logits_to_keep": 1} if "logits_to_keep" in inspect.signature(model.forward).parameters else {}
    with torch.inference_mode():
        model(input_ids=ids, pixel_values=pixels, use_cache=True, **last)  # warm-up
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            out = model(input_ids=ids, pixel_values=pixels, use_cache=True, **last)
            prefill.append(time.perf_counter() - t0)
            past, logits = out.past_key_values, out.logits[:, -1]
            t0 = time.perf_counter()
            for _ in range(steps):  # greedy, EOS ignored: the same count as focus-bench
                nxt = logits.argmax(-1, keepdim=True)
                out = model(input_ids=nxt, use_cache=True, **{cache_arg: past})
                past, logits = out.past_key_values, out.logits[:, -1]
            decode.append(time.perf_counter() - t0)
    print(json.dumps({
        "backend": "transformers", "torch": torch.__version__, "threads": args.threads, "load_s": load,
        "prefill_ms": statistics.median(prefill) * 1000,
        "decode_tokens_per_s": steps / statistics.median(decode),
        "rss_after_load_bytes": rss_after_load,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }, sort_keys=True))


if __name__ == "__main__":
    main()

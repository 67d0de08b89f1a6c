#!/usr/bin/env python3
"""Whether a focus-toy checkpoint misses a colour question by not seeing the colour or by not finding
its option: each colour question of `focus synth` benchmarks asked twice.

Once as the benchmark asks it (four options and the letter instruction; the answer is the option letter
with the highest logit after `ASSISTANT:`, the Swift engine's answer for the toy), once as the question
line alone, "What is the color of the star?" (the answer is the colour word with the highest logit
among the benchmark's colours, from its manifest; `synth-train --mix color-word=...` teaches that form). Images are padded to
a square with the CLIP mean colour and resized as LLaVA-1.5 does, through transformers' own
LlavaProcessor and LlavaForConditionalGeneration.

Session 35, version 13 on the five large-object benchmarks of scripts/toy/evaluate (335 questions):
the word 98.5 %, the letter 76.7 %: the toy finds the object and reads its colour, and loses the answer
between that colour and its option letter.

  /work/venv-fixtures/bin/python scripts/toy/color_read.py --model models/focus-toy \
      --bench out/toy-evaluation/large --bench out/toy-evaluation/large-9011 ...
"""
import argparse
import json
import sys
from pathlib import Path

import torch
from PIL import Image
from transformers import LlavaForConditionalGeneration, LlavaProcessor

sys.path.insert(0, str(Path(__file__).resolve().parent))
from attention_masks import padded  # noqa: E402  LLaVA-1.5's square padding with the CLIP mean colour
from train import single_token_ids  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--bench", type=Path, action="append", required=True, help="a focus synth folder (repeatable)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    processor = LlavaProcessor.from_pretrained(str(args.model))
    model = LlavaForConditionalGeneration.from_pretrained(str(args.model), dtype=torch.float32).eval()
    letter_ids = single_token_ids(processor.tokenizer, list("ABCD"), "color_read.py")

    def last_logits(prompt, image):
        inputs = processor(images=image, text=f"USER: <image>\n{prompt} ASSISTANT:", return_tensors="pt")
        with torch.no_grad():
            return model(**inputs).logits[0, -1]

    n = word_ok = letter_ok = both = 0
    for bench in args.bench:
        path, manifest = bench / "test_questions.jsonl", bench / "manifest.json"
        if not (path.exists() and manifest.exists()):
            raise SystemExit(f"{bench}: no test_questions.jsonl and manifest.json; --bench takes a folder written by `focus synth`")
        colors = json.loads(manifest.read_text(encoding="utf-8"))["arguments"]["colors"]
        color_ids = single_token_ids(processor.tokenizer, colors, "color_read.py")
        for line in path.read_text(encoding="utf-8").splitlines():
            q = json.loads(line)
            if q.get("type") != "attribute":
                continue
            image, _, _ = padded(Image.open(bench / q["image"]).convert("RGB"))
            truth = q["options"]["ABCD".index(q["label"])]
            word = colors[int(torch.argmax(last_logits(q["question"], image)[color_ids]))]
            letter = "ABCD"[int(torch.argmax(last_logits(q["text"], image)[letter_ids]))]
            n += 1
            word_ok += word == truth
            letter_ok += letter == q["label"]
            both += word == truth and letter == q["label"]
    if n == 0:
        raise SystemExit("no attribute questions in the given benchmarks")
    print(json.dumps({"questions": n, "word_percent": round(100 * word_ok / n, 1),
                      "letter_percent": round(100 * letter_ok / n, 1), "both_percent": round(100 * both / n, 1)}))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Whether a focus-toy checkpoint misses a colour question by not seeing the colour or by not finding
its option: each colour question of `focus synth` benchmarks asked twice.

Once as the benchmark asks it (four options and the letter instruction; the answer is the option letter
with the highest logit after `ASSISTANT:`, the Swift engine's answer for the toy), once as the question
line alone, "What is the color of the star?" (the answer is the colour word with the highest logit
among the vocabulary's ten; `synth-train --mix color-word=...` teaches that form). Images are padded to
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
from pathlib import Path

import torch
from PIL import Image
from transformers import LlavaForConditionalGeneration, LlavaProcessor

COLORS = ["red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink", "white", "black"]
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)


def padded(path: Path) -> Image.Image:
    """LLaVA-1.5's square padding with the mean colour, as focus's methods apply before the processor."""
    image = Image.open(path).convert("RGB")
    w, h = image.size
    side = max(w, h)
    canvas = Image.new("RGB", (side, side), tuple(int(round(m * 255)) for m in CLIP_MEAN))
    canvas.paste(image, ((side - w) // 2, (side - h) // 2))
    return canvas


def single_token_ids(tokenizer, words):
    ids = []
    for word in words:
        pieces = tokenizer(word, add_special_tokens=False)["input_ids"]
        if len(pieces) != 1:
            raise SystemExit(f"'{word}' is {len(pieces)} tokens in this tokenizer; the read needs one")
        ids.append(pieces[0])
    return ids


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--bench", type=Path, action="append", required=True, help="a focus synth folder (repeatable)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    processor = LlavaProcessor.from_pretrained(str(args.model))
    model = LlavaForConditionalGeneration.from_pretrained(str(args.model), dtype=torch.float32).eval()
    color_ids = single_token_ids(processor.tokenizer, COLORS)
    letter_ids = single_token_ids(processor.tokenizer, list("ABCD"))

    def last_logits(prompt, image):
        inputs = processor(images=image, text=f"USER: <image>\n{prompt} ASSISTANT:", return_tensors="pt")
        with torch.no_grad():
            return model(**inputs).logits[0, -1]

    n = word_ok = letter_ok = both = 0
    for bench in args.bench:
        path = bench / "test_questions.jsonl"
        if not path.exists():
            raise SystemExit(f"{path}: missing; --bench takes a folder written by `focus synth`")
        for line in path.read_text(encoding="utf-8").splitlines():
            q = json.loads(line)
            if q.get("type") != "attribute":
                continue
            image = padded(bench / q["image"])
            truth = q["options"]["ABCD".index(q["label"])]
            word = COLORS[int(torch.argmax(last_logits(q["question"], image)[color_ids]))]
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

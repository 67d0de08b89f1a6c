#!/usr/bin/env python3
"""Where a focus-toy checkpoint loses a full view's answer: the same questions with parts of the
decoder's attention masked.

For each multiple-choice question of a synthetic benchmark (`focus synth`), the image is padded to a
square with the CLIP mean colour (as focus's methods do) and answered by transformers' own
LlavaForConditionalGeneration (eager attention), picking the option letter with the highest logit
after `ASSISTANT:` (the Swift engine's generated letter for the toy: the same on every question of
version 9's large benchmark). Then again with, in chosen decoder layers, chosen query rows kept from
attending to the image tokens outside the question's target cells (the ground-truth boxes mapped to
the 12x12 patch grid), and once with the target alone: its boxes pasted on an empty canvas of the
mean colour. Rows: `options` (the option lines), `question` (the question text), `tail` (the
instruction line), `answer` (the last position only), `text` (every text token after the image).

This is the diagnosis behind train.py's --option-attention-weight: on version 9, masking the
options' rows in layer 0 only took the colour of a large object in a full view from 67 % to 96 %.
That mask also tells those rows where the target is; the control row "options rows off the whole
image" keeps them off every image token, which is what the layer-0 quiet loss trains towards.

  /work/venv-fixtures/bin/python scripts/toy/attention_masks.py --model models/focus-toy \
      --bench out/benches/large [--types attribute]
"""
import argparse
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from transformers import LlavaForConditionalGeneration, LlavaProcessor
import transformers.models.llama.modeling_llama as llama

CLIP_MEAN = tuple(int(round(m * 255)) for m in (0.48145466, 0.4578275, 0.40821073))
ROWS = ("options", "question", "tail", "answer", "text")


class Masks:
    """An additive bias on chosen query rows of chosen layers, applied inside eager attention."""

    def __init__(self):
        self.rules = {}       # layer -> (rows tensor, bias over keys)
        original = llama.eager_attention_forward

        def masked(module, query, key, value, attention_mask, scaling, dropout=0.0, **kwargs):
            rule = self.rules.get(module.layer_idx)
            if rule is not None:
                rows, bias = rule
                extra = torch.zeros(query.shape[0], 1, query.shape[2], key.shape[2])
                extra[:, :, rows, :] = bias
                attention_mask = extra if attention_mask is None else attention_mask + extra
            return original(module, query, key, value, attention_mask, scaling, dropout, **kwargs)
        llama.eager_attention_forward = masked


def padded(image: Image.Image):
    w, h = image.size
    side = max(w, h)
    canvas = Image.new("RGB", (side, side), CLIP_MEAN)
    canvas.paste(image, ((side - w) // 2, (side - h) // 2))
    return canvas, (side - w) // 2, (side - h) // 2


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--bench", type=Path, required=True)
    p.add_argument("--types", default="attribute,spatial,existence")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--layers", default="0,1,2,3", help="decoder layers to mask one at a time (and all together)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    model = LlavaForConditionalGeneration.from_pretrained(str(args.model), dtype=torch.float32,
                                                          attn_implementation="eager").eval()
    processor = LlavaProcessor.from_pretrained(str(args.model))
    tokenizer = processor.tokenizer
    masks = Masks()
    grid = model.config.vision_config.image_size // model.config.vision_config.patch_size
    layers = [int(x) for x in args.layers.split(",")]
    letters = [tokenizer.convert_tokens_to_ids("▁" + c) for c in "ABCD"]
    types = set(args.types.split(","))
    questions = [json.loads(line) for line in (args.bench / "test_questions.jsonl").read_text().splitlines() if line]
    questions = [q for q in questions if q["type"] in types]
    right = {}
    for q in questions:
        image, ox, oy = padded(Image.open(args.bench / q["image"]).convert("RGB"))
        side = image.size[0]
        prompt = "USER: <image>\n" + q["text"] + " ASSISTANT:"
        inputs = processor(images=image, text=prompt, return_tensors="pt")
        ids = inputs["input_ids"][0]
        image_pos = (ids == model.config.image_token_id).nonzero()[:, 0]
        cell = side / grid
        target = torch.zeros(grid, grid, dtype=torch.bool)
        for x, y, w, h in q["bbox"]:
            target[int((y + oy) // cell):int((y + oy + h - 1) // cell) + 1,
                   int((x + ox) // cell):int((x + ox + w - 1) // cell) + 1] = True
        bias = torch.zeros(len(ids))
        bias[image_pos[~target.flatten()]] = float("-inf")
        # The control: the same rows off every image token. Keeping them off the image outside the
        # target hands them the target's place, which they may have no way to find themselves.
        blind = torch.zeros(len(ids))
        blind[image_pos] = float("-inf")
        # text rows by character span of the prompt (the <image> token expands to len(image_pos) ids)
        enc = tokenizer(prompt, return_offsets_mapping=True)
        at = enc["input_ids"].index(model.config.image_token_id)
        shift = len(image_pos) - 1

        def span(lo, hi):
            return torch.tensor([i + (shift if i > at else 0) for i, (start, _) in enumerate(enc["offset_mapping"])
                                 if lo <= start < hi and i > at])
        first_option = prompt.index("(A)")
        instruction = prompt.index("Answer with")
        rows = dict(options=span(first_option, instruction), question=span(0, first_option),
                    tail=span(instruction, len(prompt)), answer=torch.tensor([len(ids) - 1]),
                    text=torch.arange(int(image_pos[-1]) + 1, len(ids)))
        alone = Image.new("RGB", image.size, CLIP_MEAN)
        for x, y, w, h in q["bbox"]:
            alone.paste(image.crop((x + ox, y + oy, x + ox + w, y + oy + h)), (x + ox, y + oy))
        variants = [("unmasked", {}, inputs), ("target alone on an empty canvas", {}, None)]
        for name in ROWS:
            for layer in layers:
                variants.append((f"{name} rows, layer {layer}", {layer: (rows[name], bias)}, inputs))
            variants.append((f"{name} rows, every layer", {l: (rows[name], bias) for l in layers}, inputs))
        for layer in layers:
            variants.append((f"options rows off the whole image, layer {layer}", {layer: (rows["options"], blind)}, inputs))
        n_options = len(q["options"])
        for name, rules, model_inputs in variants:
            if model_inputs is None:
                model_inputs = processor(images=alone, text=prompt, return_tensors="pt")
            masks.rules = rules
            with torch.no_grad():
                logits = model(**model_inputs).logits[0, -1]
            masks.rules = {}
            guess = "ABCD"[int(logits[letters[:n_options]].argmax())]
            right.setdefault(name, {}).setdefault(q["type"], []).append(guess == q["label"])
    kinds = sorted({q["type"] for q in questions})
    print("| variant | " + " | ".join(f"{k} (n={sum(1 for q in questions if q['type'] == k)})" for k in kinds) + " |")
    print("|---|" + "---:|" * len(kinds))
    for name, by_type in right.items():
        print(f"| {name} | " + " | ".join(f"{100 * np.mean(by_type[k]):.1f}" for k in kinds) + " |")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Checks that the Swift engine computes what transformers computes with an exported focus-toy checkpoint.

For one image and a few prompts (an image question, a Yes/No verification, a text-only extraction
prompt with the few-shot turns), compares `focus logits` with
`LlavaProcessor(images=img, text=prompt)` then `model(**inputs).logits[0, -1]` (float32), and prints the
largest relative difference (max |a - b| / max |b|). `focus logits` needs an image, so for the
text-only prompt only the token ids are compared (`focus tokenize --special`). Exits non-zero above
--tolerance.

  /work/venv-fixtures/bin/python scripts/toy/check_engine.py --model models/focus-toy \
      --focus .build-toy/debug/focus [--image some.png]
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from transformers import LlavaForConditionalGeneration, LlavaProcessor

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train  # noqa: E402


def test_image(size=150, seed=3) -> Image.Image:
    """A non-square picture with a few coloured shapes (it goes through pad-free resize and crop)."""
    rng = np.random.default_rng(seed)
    img = np.full((size * 2 // 3, size, 3), 128, np.uint8) + rng.integers(0, 30, (size * 2 // 3, size, 3), dtype=np.uint8)
    for _ in range(5):
        y, x = rng.integers(0, size * 2 // 3 - 12), rng.integers(0, size - 12)
        img[y:y + 12, x:x + 12] = rng.integers(0, 256, 3)
    return Image.fromarray(img, "RGB")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", type=Path, default=train.ROOT / "models" / "focus-toy")
    p.add_argument("--focus", type=Path, default=train.ROOT / ".build-toy" / "debug" / "focus")
    p.add_argument("--image", type=Path, help="default: a generated 150x100 picture")
    p.add_argument("--tolerance", type=float, default=1e-4)
    args = p.parse_args()
    torch.set_num_threads(2)

    model = LlavaForConditionalGeneration.from_pretrained(str(args.model), dtype=torch.float32).eval()
    processor = LlavaProcessor.from_pretrained(str(args.model))
    examples = json.loads(train.build_tokenizer.FEW_SHOT.read_text(encoding="utf-8"))
    extraction = (train.few_shot_history(examples) + "USER: Question: What is the color of the star?\n"
                  + train.build_tokenizer.EXTRACTION_INSTRUCTION + " ASSISTANT:")
    prompts = ["USER: <image>\nWhat is the color of the star?\n(A) red\n(B) blue\n(C) green\n(D) yellow\n"
               "Answer with the option's letter from the given choices directly. ASSISTANT:",
               "USER: <image>\nIs there a star in the image? Answer Yes or No. ASSISTANT:",
               extraction]
    with tempfile.TemporaryDirectory() as tmp:
        image_path = args.image
        if image_path is None:
            image_path = Path(tmp) / "check.png"
            test_image().save(image_path)
        image = Image.open(image_path).convert("RGB")
        worst = 0.0
        for prompt in prompts:
            if "<image>" not in prompt:
                # `focus logits` needs an image; for a text-only prompt compare the token ids instead.
                ids = processor.tokenizer(prompt)["input_ids"]
                out = subprocess.run([str(args.focus), "tokenize", "--model", str(args.model), "--text", prompt,
                                      "--special"], capture_output=True, text=True)
                if out.returncode != 0:
                    raise SystemExit(f"focus tokenize failed: {out.stderr.strip()}")
                same = json.loads(out.stdout)["ids"] == ids
                print(f"{len(ids):4d} tokens, text only: token ids {'equal' if same else 'DIFFER'}: {prompt[-60:]!r}")
                if not same:
                    raise SystemExit(1)
                continue
            inputs = processor(images=image, text=prompt, return_tensors="pt")
            with torch.no_grad():
                reference = model(**inputs).logits[0, -1].numpy()
            cmd = [str(args.focus), "logits", "--model", str(args.model), "--prompt", prompt,
                   "--image", str(image_path)]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode != 0:
                raise SystemExit(f"focus logits failed: {out.stderr.strip()}")
            got = json.loads(out.stdout)
            swift = np.asarray(got["last_logits"], dtype=np.float64)
            if got["tokens"] != inputs["input_ids"].shape[1] or swift.shape != reference.shape:
                raise SystemExit(f"token count or logits size differ: swift {got['tokens']} tokens, "
                                 f"{swift.shape}; transformers {inputs['input_ids'].shape[1]}, {reference.shape}")
            rel = float(np.abs(swift - reference).max() / np.abs(reference).max())
            worst = max(worst, rel)
            top = processor.tokenizer.convert_ids_to_tokens(int(reference.argmax()))
            print(f"{got['tokens']:4d} tokens, argmax {top!r} (swift {int(swift.argmax())}, "
                  f"transformers {int(reference.argmax())}), relative difference {rel:.2e}: {prompt[-60:]!r}")
    print(f"largest relative difference {worst:.2e} (tolerance {args.tolerance:g})")
    if worst > args.tolerance:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

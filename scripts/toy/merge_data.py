#!/usr/bin/env python3
"""Concatenates focus synth-train folders into one, so a training stage can mix recipes that one
synth-train invocation cannot draw together (e.g. a share of large-object scenes beside the usual
scale range). Images and per-patch labels are appended in order; sample ids and image indices are
renumbered; the manifests must agree on everything the training script reads (input size, label cell,
vocabularies). The merged manifest holds only those shared fields and the new counts; what differs
per part (seed, mix, scale range, kind counts) stays in the parts' manifests, which it records.

    scripts/toy/merge_data.py --out out/merged out/data-a out/data-b
"""
import argparse
import json
import shutil
import sys
from pathlib import Path

# Manifest fields that must be equal across parts: train.py reads them for the whole folder.
SHARED = ("generator", "version", "input_size", "images_layout", "label_cell", "labels_layout", "shapes", "colors",
          "plurals", "chat_format", "preprocessing")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("parts", type=Path, nargs="+")
    args = p.parse_args(argv)
    manifests = []
    for part in args.parts:
        path = part / "manifest.json"
        if not path.exists():
            sys.exit(f"{part}: no manifest.json (not a focus synth-train folder)")
        manifests.append(json.loads(path.read_text(encoding="utf-8")))
    for key in SHARED:
        values = {json.dumps(m.get(key), sort_keys=True) for m in manifests}
        if len(values) > 1:
            sys.exit(f"the parts disagree on manifest field {key!r}: {sorted(values)}")
    size = manifests[0]["input_size"]
    cell = manifests[0].get("label_cell")
    image_bytes = size * size * 3
    label_bytes = (size // cell) ** 2 * 2 if cell else 0
    args.out.mkdir(parents=True, exist_ok=True)
    images_offset = 0
    sample_id = 0
    with open(args.out / "images.u8", "wb") as images, open(args.out / "labels.u8", "wb") as labels, \
            open(args.out / "samples.jsonl", "w", encoding="utf-8") as samples:
        for part in args.parts:
            n_bytes = (part / "images.u8").stat().st_size
            if n_bytes % image_bytes:
                sys.exit(f"{part}/images.u8: {n_bytes} bytes is not a multiple of {size}x{size}x3")
            count = n_bytes // image_bytes
            with open(part / "images.u8", "rb") as f:
                shutil.copyfileobj(f, images, 1 << 24)
            if label_bytes:
                if (part / "labels.u8").stat().st_size != count * label_bytes:
                    sys.exit(f"{part}/labels.u8: expected {count * label_bytes} bytes for {count} images")
                with open(part / "labels.u8", "rb") as f:
                    shutil.copyfileobj(f, labels, 1 << 24)
            # Read line by line as build_tokenizer.read_samples does (blank lines skipped), without
            # importing it: it pulls in the tokenizers package, which a file copy does not need.
            for line in open(part / "samples.jsonl", encoding="utf-8"):
                if not line.strip():
                    continue
                s = json.loads(line)
                s["id"] = sample_id
                sample_id += 1
                if s.get("image_index") is not None:
                    s["image_index"] += images_offset
                samples.write(json.dumps(s) + "\n")
            images_offset += count
    merged = {key: manifests[0][key] for key in SHARED if key in manifests[0]}
    merged["count"] = sample_id
    merged["images"] = images_offset
    merged["merged_from"] = [{"folder": str(part), "manifest": m} for part, m in zip(args.parts, manifests)]
    (args.out / "manifest.json").write_text(json.dumps(merged, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({"out": str(args.out), "samples": sample_id, "images": images_offset}))


if __name__ == "__main__":
    main()

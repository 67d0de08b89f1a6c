#!/usr/bin/env python3
"""Trains focus-toy: a small LLaVA-1.5 (CLIP ViT + gelu projector + LLaMA decoder) from random init on
the data of `focus synth-train`, with transformers' own LlavaForConditionalGeneration, on the CPU.

The saved folder is a genuine Hugging Face LLaVA checkpoint (config.json, model.safetensors,
tokenizer.json, tokenizer_config.json, generation_config.json, processor_config.json in the
transformers-5 form) that the Swift engine loads through the same code path as llava-1.5-7b-hf.

  P=/work/venv-fixtures/bin/python
  $P scripts/toy/train.py --data DIR --steps 2800 --minutes 98            # train, then export
  $P scripts/toy/train.py --data DIR --steps 2800 --minutes 98 --resume   # go on from the last save
  $P scripts/toy/train.py --data DIR --export-only                         # export the last save

See scripts/toy/README.md for the data contract, the chat format and the recipe.
"""
import argparse
import copy
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_tokenizer  # noqa: E402

from transformers import (CLIPImageProcessorPil, CLIPVisionConfig, GenerationConfig,  # noqa: E402
                          LlamaConfig, LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor,
                          PreTrainedTokenizerFast)
from transformers.utils import logging as hf_logging  # noqa: E402

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
IMAGE_TOKEN = "<image>"
KINDS = ["verification", "existence", "attribute", "spatial", "counting", "extraction", "listing", "lookup", "spatial-word",
         "answerable", "latent", "color-word"]
KIND_ALIASES = {"verify": "verification"}


# MARK: - Arguments

def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Train focus-toy (LLaVA-1.5 architecture) on focus synth-train data.")
    p.add_argument("--data", type=Path, required=True, help="focus synth-train output folder")
    p.add_argument("--out", type=Path, default=ROOT / "models" / "focus-toy", help="exported checkpoint folder")
    p.add_argument("--work", type=Path, default=ROOT / "out" / "focus-toy-train",
                   help="resumable state, tokenizer and log (git-ignored)")
    p.add_argument("--few-shot", type=Path, default=build_tokenizer.FEW_SHOT,
                   help="FOCUS step-1 few-shot examples, used as earlier chat turns in extraction samples")
    p.add_argument("--few-shot-fraction", type=float, default=0.5,
                   help="fraction of the extraction samples that get the few-shot turns in front")
    p.add_argument("--seed", type=int, default=0)
    # Schedule.
    p.add_argument("--steps", type=int, default=2800, help="optimizer steps of the whole schedule")
    p.add_argument("--minutes", type=float, default=100.0,
                   help="wall-clock budget of this invocation; training stops gracefully (save + export)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--min-lr-ratio", type=float, default=0.05)
    p.add_argument("--warmup", type=int, default=150)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bf16", action="store_true",
                   help="forward passes under bfloat16 autocast (weights, optimizer and gradients stay float32); "
                        "on a 2-core AMD EPYC session machine (AVX512-BF16) a 144-px joint step took 4.1 s instead of 4.9 s")
    # Validation, logging, saving.
    p.add_argument("--val-samples", type=int, default=600, help="held-out samples (whole images held out)")
    p.add_argument("--eval-every", type=int, default=200, help="steps between validations")
    p.add_argument("--log-every", type=int, default=20, help="steps between training-loss lines")
    p.add_argument("--save-minutes", type=float, default=10.0, help="minutes between resumable saves")
    p.add_argument("--resume", action="store_true", help="continue from WORK/state.pt")
    p.add_argument("--export-only", action="store_true", help="export WORK/state.pt to --out and exit")
    p.add_argument("--dtype", choices=["float16", "float32"], default="float16", help="exported weights")
    # Architecture.
    p.add_argument("--patch-size", type=int, default=8)
    p.add_argument("--vision-hidden", type=int, default=128)
    p.add_argument("--vision-layers", type=int, default=4)
    p.add_argument("--vision-heads", type=int, default=4)
    p.add_argument("--vision-mlp", type=int, default=512)
    p.add_argument("--text-hidden", type=int, default=256)
    p.add_argument("--text-layers", type=int, default=4)
    p.add_argument("--text-heads", type=int, default=4)
    p.add_argument("--text-mlp", type=int, default=688)
    p.add_argument("--vocab-size", type=int, default=1000, help="tokenizer vocabulary (before <image>, <pad>)")
    # Auxiliary per-patch supervision (labels.u8 of focus synth-train).
    p.add_argument("--init-model", type=Path, default=None,
                   help="stage 3: start every weight and the tokenizer from this exported checkpoint (an earlier "
                        "run's models/focus-toy), fit fresh per-patch heads on its frozen features, then train "
                        "stage 2 on --data (stages 1 and 1b skipped); a --patch-size a whole factor larger than the "
                        "checkpoint's spreads its patch embedding over the finer patch (same grid, larger input)")
    p.add_argument("--head-steps", type=int, default=200,
                   help="with --init-model: steps that fit the fresh per-patch heads before stage 2")
    p.add_argument("--init-vision", type=Path, default=None,
                   help="start the vision tower, projector and per-patch heads from this state.pt (a finished "
                        "stage 1 of an earlier run) and skip stage 1")
    p.add_argument("--vision-minutes", type=float, default=12.0,
                   help="stage 1: minutes of vision-only pretraining on the per-patch labels (0: none)")
    p.add_argument("--vision-continue-minutes", type=float, default=0.0,
                   help="with --init-model: minutes of vision-only training on the per-patch labels after the heads "
                        "are fitted and before stage 2 (0: none), to sharpen a trained tower's shape read-out")
    p.add_argument("--vision-anchor-weight", type=float, default=0.0,
                   help="with --vision-continue-minutes: weight of a mean-squared pull of the projected features "
                        "towards the loaded checkpoint's, so that the decoder can still read them")
    p.add_argument("--vision-batch-size", type=int, default=64)
    p.add_argument("--vision-lr", type=float, default=2e-3)
    p.add_argument("--vision-lr-scale", type=float, default=0.5,
                   help="stage 2: the vision tower's, projector's and cell heads' share of --lr")
    p.add_argument("--align-weight", type=float, default=0.0,
                   help="weight of the word-tied per-patch loss: each projected patch feature is classified by its "
                        "cosine to the decoder's input embedding of each shape word (plus a learned background), "
                        "so an image token of a star lives where the token '▁star' does (0: none)")
    p.add_argument("--attention-weight", type=float, default=0.0,
                   help="weight of the grounding loss on the decoder's attention: in --attention-layers, the first "
                        "--attention-heads heads of every shape word after the image put their attention on the image "
                        "tokens of that shape (per-patch labels; 0: none)")
    p.add_argument("--attention-layers", default="0,1", help="decoder layers of --attention-weight")
    p.add_argument("--attention-heads", type=int, default=1, help="heads per layer of --attention-weight")
    p.add_argument("--answer-attention-weight", type=float, default=0.0,
                   help="weight of grounding at the answer: the position that predicts an attribute or spatial "
                        "answer attends, in --answer-attention-layers, with head 1 to the first shape the question "
                        "names and with head 2 to the second (0: none)")
    p.add_argument("--answer-attention-layers", default="2", help="decoder layers of --answer-attention-weight")
    p.add_argument("--column-weight", type=float, default=0.0,
                   help="weight of the answer's column read-out: in --answer-attention-layers, what head 1 and head 2 "
                        "of the answer position read (their attention output, before o_proj) predicts, by a linear "
                        "regression, the column of the shape that head is grounded on, so that left/right is a "
                        "difference of two numbers the decoder already holds (0: none; needs --answer-attention-weight)")
    p.add_argument("--value-weight", type=float, default=0.0,
                   help="weight of the value-cache loss: in --value-layers, the head-summed cosine of the value vectors "
                        "of a shape word and of each image token (FOCUS step 2's similarity) ranks that shape's image "
                        "tokens first (a softmax over the image tokens; 0: none)")
    p.add_argument("--value-layers", default="2,3",
                   help="decoder layers of --value-weight (FOCUS's default range for a 4-layer decoder: [2, 4))")
    p.add_argument("--sign-weight", type=float, default=0.0,
                   help="weight of the left/right word at the answer: for spatial turns, the hidden state entering the "
                        "layer after --answer-attention-layers is classified by its cosine to the input embeddings of "
                        "'left' and 'right' (the answer word), so the option lookup can match it (0: none)")
    p.add_argument("--color-weight", type=float, default=0.0,
                   help="weight of the colour word at the answer: for attribute turns, the hidden state entering the "
                        "layer after --answer-attention-layers is classified by its cosine to the input embeddings of "
                        "the colour words, against the named object's colour under its cells, as --sign-weight does "
                        "for left/right (0: none)")
    p.add_argument("--option-attention-weight", type=float, default=0.0,
                   help="weight of the option words' attention in attribute turns: in --option-attention-layers, head "
                        "--option-attention-head of each colour option puts its attention on the named object's cells; "
                        "in --option-quiet-layers no head of it attends to other image tokens (a full view's colour "
                        "answer is lost where the options, at layer 0, read every object of their colour; 0: none)")
    p.add_argument("--option-attention-layers", default="1", help="decoder layers where an option attends to the object")
    p.add_argument("--option-attention-head", type=int, default=3, help="the head of --option-attention-layers")
    p.add_argument("--option-quiet-layers", default="0",
                   help="decoder layers where an option's heads keep off the image tokens outside the named object")
    p.add_argument("--option-quiet-eps", type=float, default=0.0,
                   help="in --option-quiet-layers, penalise log(share + eps) - log(eps) instead of -log(1 - share): "
                        "a gradient 1/(share + eps) that takes the share to about eps (stage 3o: under -log(1 - share) "
                        "the share fell to 3 %% and the decoder still read the distractors through it; 0: that form)")
    p.add_argument("--lookup-weight", type=float, default=0.0,
                   help="weight of the option lookup at the answer of attribute turns: in --lookup-layer, head "
                        "--lookup-head of the position that predicts the letter attends to the option word naming the "
                        "object's colour (its commonest colour label; 0: none)")
    p.add_argument("--lookup-layer", type=int, default=3)
    p.add_argument("--lookup-head", type=int, default=0)
    p.add_argument("--column-lr", type=float, default=3e-3,
                   help="peak learning rate of the --column-weight probes (they follow the same schedule)")
    p.add_argument("--position-weight", type=float, default=0.0,
                   help="weight of a per-patch column read-out inside the per-patch loss (0: none)")
    p.add_argument("--prompt-loss-weight", type=float, default=0.0,
                   help="stage 2: weight of the next-token loss on the prompt text (0: answers only)")
    p.add_argument("--aux-weight", type=float, default=0.3,
                   help="stage 2: weight of the per-patch loss beside the answer loss")
    p.add_argument("--text-steps", type=int, default=0,
                   help="stage 1b, before stage 2: steps of the decoder alone on the text-only samples "
                        "(lookup and extraction), which teach the option-letter mapping (0: none)")
    p.add_argument("--text-batch-size", type=int, default=128)
    p.add_argument("--text-kinds", default="lookup",
                   help="stage 1b: comma-separated kinds of text-only samples (extraction's few-shot turns "
                        "make its samples ~6x longer, and stage 2 teaches it well)")
    p.add_argument("--text-lr", type=float, default=1e-3)
    return p.parse_args(argv)


def autocast(args):
    """bfloat16 autocast for the forward passes when --bf16 is given, a no-op context otherwise."""
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16)


def single_token_ids(tokenizer, words, flag):
    """The token id of each word, which must be one token (a shape or colour word read by a loss or a probe)."""
    ids = []
    for word in words:
        pieces = tokenizer(word, add_special_tokens=False)["input_ids"]
        if len(pieces) != 1:
            raise SystemExit(f"{flag} needs each of these words to be one token; '{word}' is {len(pieces)}")
        ids.append(pieces[0])
    return ids


def layer_list(text: str):
    """The decoder layers of a comma-separated flag value ('' for none)."""
    return [int(x) for x in text.split(",") if x]


def log(msg, file=None):
    line = f"[{time.strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)
    if file is not None:
        with open(file, "a", encoding="utf-8") as f:
            f.write(line + "\n")


# MARK: - Data

class Data:
    """The synth-train folder: images.u8 [M, S, S, 3] (memory-mapped) and samples.jsonl."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        size = self.manifest.get("input_size", self.manifest.get("inputSize"))
        if not isinstance(size, int) or size <= 0:
            raise SystemExit(f"{folder}/manifest.json: no positive integer 'input_size'")
        self.size = size
        self.samples = build_tokenizer.read_samples(folder)
        path = folder / "images.u8"
        pixels = size * size * 3
        n_bytes = path.stat().st_size if path.exists() else 0
        if n_bytes % pixels:
            raise SystemExit(f"{path}: {n_bytes} bytes is not a multiple of {size}x{size}x3")
        self.images = np.memmap(path, dtype=np.uint8, mode="r", shape=(n_bytes // pixels, size, size, 3)) \
            if n_bytes else np.zeros((0, size, size, 3), np.uint8)
        self.labels = None
        cell = self.manifest.get("label_cell")
        if cell and (folder / "labels.u8").exists():
            grid = size // cell
            self.labels = np.memmap(folder / "labels.u8", dtype=np.uint8, mode="r",
                                    shape=(len(self.images), grid, grid, 2))
            self.label_classes = (len(self.manifest["shapes"]) + 1, len(self.manifest["colors"]) + 1)
        for s in self.samples:
            s["kind"] = KIND_ALIASES.get(s["kind"], s["kind"])
            i = s.get("image_index")
            if i is not None and not 0 <= i < len(self.images):
                raise SystemExit(f"{folder}/samples.jsonl: sample {s['id']} has image_index {i}, "
                                 f"but images.u8 holds {len(self.images)} images")
            for turn in [s] + s.get("turns", []):
                if turn["kind"] not in KINDS:
                    raise SystemExit(f"{folder}/samples.jsonl: sample {s['id']} has unknown kind {turn['kind']!r}")
            if any(IMAGE_TOKEN in t["prompt"] for t in s.get("turns", [])):
                raise SystemExit(f"{folder}/samples.jsonl: sample {s['id']}: a follow-up turn holds '<image>'")
            if (i is None) == s["prompt"].startswith(IMAGE_TOKEN):
                raise SystemExit(f"{folder}/samples.jsonl: sample {s['id']}: image_index and '<image>' disagree")

    def cell_labels(self, indices) -> torch.Tensor:
        """[n, grid * grid, 2] int64: (shape + 1, colour + 1) per patch, 0 background, 255 ignored."""
        x = np.ascontiguousarray(self.labels[np.asarray(indices)])
        return torch.from_numpy(x.reshape(len(indices), -1, 2).astype(np.int64))

    def pixel_values(self, indices) -> torch.Tensor:
        """CLIP pixel values [n, 3, S, S] exactly as CLIPImageProcessor computes them on an image that
        needs no resize or crop: rescale by 1/255, then (x - mean) / std."""
        x = torch.from_numpy(np.ascontiguousarray(self.images[np.asarray(indices)])).permute(0, 3, 1, 2).float()
        return ((x / 255.0) - torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)) / torch.tensor(CLIP_STD).view(1, 3, 1, 1)


def images_of(data: Data, sample_indices):
    """The distinct image slots of these samples, ascending."""
    return sorted({data.samples[k]["image_index"] for k in sample_indices} - {None})


def split(data: Data, val_samples: int, seed: int):
    """Held-out samples: whole images (all questions about them) and text-only samples, drawn at random."""
    groups = {}
    for k, s in enumerate(data.samples):
        key = ("i", s["image_index"]) if s["image_index"] is not None else ("t", s["id"])
        groups.setdefault(key, []).append(k)
    keys = sorted(groups)
    order = np.random.default_rng(seed + 17).permutation(len(keys))
    val = []
    for g in order:
        if len(val) >= val_samples:
            break
        val.extend(groups[keys[g]])
    val_set = set(val)
    train = [k for k in range(len(data.samples)) if k not in val_set]
    return train, sorted(val)


def few_shot_history(examples) -> str:
    """The few-shot turns of FOCUS step 1, as earlier LLaVA-1.5 chat turns (ChatTemplate.prompt's history)."""
    return "".join(f"USER: Question: {ex['question']}\n{build_tokenizer.EXTRACTION_INSTRUCTION} ASSISTANT: "
                   f"{ex['answer']}</s>" for ex in examples)


def turns_of(sample):
    """(kind, prompt, answer) of the first turn and every follow-up turn."""
    return [(t["kind"], t["prompt"], t["answer"]) for t in [sample] + sample.get("turns", [])]


def encode_all(data: Data, tokenizer, image_tokens: int, examples, fraction: float, seed: int):
    """Token ids of every sample in the LLaVA-1.5 chat format (follow-up turns appended as further
    `USER: … ASSISTANT: …</s>` turns), <image> expanded as LlavaProcessor does, and per turn the span
    [start, end) of its answer tokens and </s> (where the loss goes) and its kind."""
    with_few_shot = np.random.default_rng(seed + 29).random(len(data.samples)) < fraction
    history = few_shot_history(examples)
    encoded = []
    # In chunks: every sample tokenises 2 × turns + 1 growing texts, which for the whole set at once
    # would hold hundreds of millions of Python ints.
    chunk = 2000
    for first in range(0, len(data.samples), chunk):
        texts, owners = [], []  # per sample: turn prompts, turn prompt+answer, then the whole text
        for k in range(first, min(first + chunk, len(data.samples))):
            s = data.samples[k]
            text = history if s["kind"] == "extraction" and with_few_shot[k] else ""
            turns = turns_of(s)
            for _, prompt, answer in turns:
                text += f"USER: {prompt} ASSISTANT:".replace(IMAGE_TOKEN, IMAGE_TOKEN * image_tokens)
                texts.append(text)
                text += f" {answer}</s>"
                texts.append(text)
            texts.append(text)
            owners.append((k, turns))
        ids = tokenizer(texts)["input_ids"]
        at = 0
        for k, turns in owners:
            n_turns = len(turns)
            full = ids[at + 2 * n_turns]
            spans = []
            for t in range(n_turns):
                p, pa = ids[at + 2 * t], ids[at + 2 * t + 1]
                if full[:len(pa)] != pa or pa[:len(p)] != p or len(pa) <= len(p):
                    raise SystemExit(f"sample {data.samples[k]['id']}, turn {t}: the prompt's tokens are not a "
                                     f"prefix of prompt + answer; cannot place the loss")
                spans.append((len(p), len(pa)))
            encoded.append((np.asarray(full, dtype=np.int64), spans, [kind for kind, _, _ in turns]))
            at += 2 * n_turns + 1
    return encoded, with_few_shot


def collate(data: Data, encoded, indices, pad_id: int, image_id: int = -1, words=None):
    """One padded batch; the loss positions of every turn (`turn_of` numbers the turns of the batch).
    With `words` (CacheShaping.words: token id -> ("shape" | "color", class)), also every shape word
    after the image whose shape has labelled cells in the view (`word_rows`, `word_cols`, `word_cells`:
    [n, patches] bool; a colour word right before it narrows the cells to that colour)."""
    seqs = [encoded[k] for k in indices]
    length = max(len(ids) for ids, _, _ in seqs)
    input_ids = torch.full((len(seqs), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), length), dtype=torch.long)
    rows, cols, turn_of, turn_kinds, turn_sample = [], [], [], [], []
    prompt_rows, prompt_cols = [], []
    for b, (ids, spans, kinds) in enumerate(seqs):
        input_ids[b, :len(ids)] = torch.from_numpy(ids)
        mask[b, :len(ids)] = 1
        answer = set()
        for (lo, hi), kind in zip(spans, kinds):
            for t in range(lo, hi):
                rows.append(b)
                cols.append(t)
                turn_of.append(len(turn_kinds))
                answer.add(t)
            turn_kinds.append(kind)
            turn_sample.append(b)
        # Prompt text tokens after text (not image tokens, not right after them, not answers): the LM
        # loss of --prompt-loss-weight.
        for t in range(1, len(ids)):
            if t not in answer and ids[t] != image_id and ids[t - 1] != image_id:
                prompt_rows.append(b)
                prompt_cols.append(t)
    image_indices = [data.samples[k]["image_index"] for k in indices if data.samples[k]["image_index"] is not None]
    pixel_values = data.pixel_values(image_indices) if image_indices else None
    rows, cols = torch.tensor(rows), torch.tensor(cols)
    cell_labels = data.cell_labels(image_indices) if image_indices and data.labels is not None else None
    grounding = CacheShaping.grounding(seqs, cell_labels, image_id, words) \
        if words and cell_labels is not None and len(image_indices) == len(seqs) else None
    prompt_rows, prompt_cols = torch.tensor(prompt_rows, dtype=torch.long), torch.tensor(prompt_cols, dtype=torch.long)
    return dict(input_ids=input_ids, attention_mask=mask, pixel_values=pixel_values, cell_labels=cell_labels,
                rows=rows, cols=cols, targets=input_ids[rows, cols], turn_of=torch.tensor(turn_of),
                turn_kinds=turn_kinds, turn_sample=turn_sample,
                prompt_rows=prompt_rows, prompt_cols=prompt_cols, prompt_targets=input_ids[prompt_rows, prompt_cols],
                n=len(seqs), turns=len(turn_kinds), grounding=grounding)


def answer_logits(model, batch, with_features=False, prompt_logits=False):
    """Logits at the positions that predict each answer token (the lm_head runs only there), and the
    projected image features [images, patches, hidden] and the prompt-token logits when asked."""
    out = model.model(input_ids=batch["input_ids"], pixel_values=batch["pixel_values"],
                      attention_mask=batch["attention_mask"], use_cache=False)
    hidden = out.last_hidden_state[batch["rows"], batch["cols"] - 1]
    logits = model.lm_head(hidden)
    if not with_features:
        return logits
    features = None
    if out.image_outputs is not None:
        features = torch.stack(list(out.image_outputs.pooler_output))
    extra = None
    if prompt_logits and len(batch["prompt_rows"]):
        extra = model.lm_head(out.last_hidden_state[batch["prompt_rows"], batch["prompt_cols"] - 1])
    return logits, features, extra


class WordAlignment(torch.nn.Module):
    """LLaVA's projector is trained so that visual tokens live in the language model's word-embedding
    space; a 4 M-parameter model trained from scratch for an hour does not get there by itself, and
    FOCUS's relevance map (cosines between the value vectors of the target word and of the image
    tokens) then has nothing to read. This loss ties the two: the shape under each patch is classified
    by the cosine of its projected feature to the input embedding of each shape word (a learned
    vector stands for the background), half the weight on object cells, half on background."""

    def __init__(self, hidden, shape_token_ids, weight, temperature=0.1):
        super().__init__()
        self.weight = weight   # --align-weight
        self.register_buffer("ids", torch.tensor(shape_token_ids, dtype=torch.long), persistent=False)
        self.background = torch.nn.Parameter(torch.randn(hidden) * 0.02)
        self.temperature = temperature

    def loss(self, features, labels, embeddings):
        words = torch.cat([self.background[None], embeddings[self.ids]], 0)   # [1 + shapes, hidden]
        logits = F.normalize(features, dim=-1) @ F.normalize(words, dim=-1).T / self.temperature
        return CellHeads.balanced(logits, labels[..., 0])


class CacheShaping:
    """Two training-only losses that give the toy the two properties FOCUS reads from a pretrained
    MLLM, which a 4 M-parameter decoder trained for an hour on one-token answers does not acquire by
    itself (version 4: the object in the first 8 proposals for 12 % of targets):

    - grounding (--attention-weight): a shape word after the image attends to that shape's image
      tokens (the first --attention-heads heads of --attention-layers). This is the retrieval every
      question needs ("the colour of the star": find the star's patches, read them); from the answer
      loss alone the decoder never found it in a cluttered view (attribute at chance on full views);
    - value similarity (--value-weight): in --value-layers, the head-summed cosine of value vectors
      between the word and each image token (FOCUS step 2's S_l[t, j]) puts that shape's tokens first;
      and the word's mean similarity to every position stays above a floor, because FOCUS divides
      each layer's row by its sum over all positions plus one, and a negative sum (the first run of
      this loss: layer 2's was -63 on a full view) turns that layer's map upside down.

    Forward hooks read q_proj, k_proj and v_proj outputs of the decoder layers; the attention is
    recomputed for the word rows only, exactly as LlamaAttention does (RoPE at positions 0..T-1, the
    1/sqrt(d) scale, causal). Nothing of this is in the exported checkpoint: the model stays a plain
    LlavaForConditionalGeneration, and the model card says that its cache was shaped on purpose."""

    def __init__(self, model, words, attention_layers, attention_heads, attention_weight, value_layers, value_weight,
                 answer_layers=(), answer_weight=0.0, scale=4.0, column_weight=0.0, grid=12,
                 sign_words=None, sign_weight=0.0, color_words=None, color_weight=0.0,
                 option_weight=0.0, option_layers=(), option_head=3, quiet_layers=(), quiet_eps=0.0,
                 lookup_weight=0.0, lookup_layer=3, lookup_head=0):
        self.model, self.words = model, words
        # The options of an attribute turn: found by the diagnosis of version 9 (masking, in layer 0
        # only, the option words' attention to image tokens outside the named object takes a large
        # object's colour in a full view from 67 to 96 %): an option word learnt to read every object
        # of its colour, which on a crop is the object but in a full view is also each distractor.
        self.option_weight, self.option_head, self.quiet_eps = option_weight, option_head, quiet_eps
        self.option_layers, self.quiet_layers = list(option_layers), list(quiet_layers)
        self.lookup_weight, self.lookup_layer, self.lookup_head = lookup_weight, lookup_layer, lookup_head
        self.lookup_stats = [0.0, 0]
        self.option_stats = [0.0, 0.0, 0]   # mass on the object (attention layers), elsewhere (quiet), entries
        # Left/right needs the two objects' columns, not just their attention: each grounded head's
        # output at the answer position regresses its shape's column (`column_probes`: the caller
        # trains and saves them with the per-patch heads; they are not exported).
        self.column_weight, self.grid = column_weight, grid
        # ... and the layer after the last grounded one receives "left" or "right" as the input
        # embedding of that word, the form the option lookup (learnt for colours) matches.
        self.sign_words, self.sign_weight = sign_words, sign_weight
        self.sign_layer = max(answer_layers, default=0) + 1
        self.sign_stats = [0, 0]
        # The same for colours: a full view's answer reads the object's colour (the grounded head puts
        # 82-96 % of its attention there) but loses the option lookup to the rest of the view.
        self.color_words, self.color_weight = color_words, color_weight
        self.color_stats = [0, 0]
        self.answer_layers, self.answer_weight = list(answer_layers), answer_weight
        self.attention_layers, self.value_layers = attention_layers, value_layers
        self.attention_heads, self.attention_weight, self.value_weight = attention_heads, attention_weight, value_weight
        self.scale = scale
        self.captured = {}
        lm = model.model.language_model
        self.heads = lm.config.num_attention_heads
        self.head_dim = lm.config.hidden_size // self.heads if getattr(lm.config, "head_dim", None) is None \
            else lm.config.head_dim
        # the layers whose attention a loss recomputes (attention_probs reads their q and k)
        attended = set(attention_layers) | set(self.answer_layers if answer_weight > 0 else []) \
            | set(self.option_layers + self.quiet_layers if option_weight > 0 else []) \
            | ({lookup_layer} if lookup_weight > 0 else set())
        for layer in attended | set(value_layers) | set(self.answer_layers) | set(self.option_layers) \
                | set(self.quiet_layers):
            if not 0 <= layer < len(lm.layers):
                raise SystemExit(f"decoder layer {layer} out of range (the decoder has {len(lm.layers)})")
        for flag, head in (("--option-attention-head", option_head), ("--lookup-head", lookup_head)):
            if not 0 <= head < self.heads:
                raise SystemExit(f"{flag} {head} out of range (the decoder has {self.heads} heads)")
        for layer in attended:
            attn = lm.layers[layer].self_attn
            attn.q_proj.register_forward_hook(self._keep(("q", layer)))
            attn.k_proj.register_forward_hook(self._keep(("k", layer)))
        self.column_probes = None
        if column_weight > 0:
            self.column_probes = torch.nn.ModuleDict({
                f"{layer}_{h}": torch.nn.Linear(self.head_dim, 1) for layer in self.answer_layers for h in (1, 2)})
            for layer in self.answer_layers:
                lm.layers[layer].self_attn.o_proj.register_forward_pre_hook(self._keep_input(("o", layer)))
        for layer in value_layers:
            lm.layers[layer].self_attn.v_proj.register_forward_hook(self._keep(("v", layer)))
        if sign_weight > 0 or color_weight > 0:
            if self.sign_layer >= len(lm.layers):
                raise SystemExit("--sign-weight and --color-weight read the layer after --answer-attention-layers; "
                                 "there is none")
            def keep_hidden(module, args, kwargs):
                self.captured[("h", self.sign_layer)] = args[0] if args else kwargs["hidden_states"]
            lm.layers[self.sign_layer].register_forward_pre_hook(keep_hidden, with_kwargs=True)
        self.floor = 0.5   # least mean head-summed value cosine of a word to every position (4 heads: 0.125 each)
        # attention mass on the target, value top-1 hits, words, lowest mean, answer attention mass, answer entries
        self.stats = [0.0, 0.0, 0, float("inf"), 0.0, 0]
        self.column_stats = [0.0, 0, 0, 0]   # absolute column error sum, entries, left/right pairs right, pairs

    def _keep_input(self, key):
        def hook(module, args):
            self.captured[key] = args[0]
        return hook

    def _keep(self, key):
        def hook(module, inputs, output):
            self.captured[key] = output
        return hook

    @staticmethod
    def shape_cells(ids, t, labels, words):
        """The cells [patches] bool of the shape token ids[t] names (narrowed to the colour a colour
        word right before it names), or None when ids[t] is not a shape word."""
        word = words.get(int(ids[t]))
        if word is None or word[0] != "shape":
            return None
        mask = labels[:, 0] == word[1] + 1
        before = words.get(int(ids[t - 1]))
        if before is not None and before[0] == "color":
            mask = mask & (labels[:, 1] == before[1] + 1)
        return mask

    @staticmethod
    def grounding(seqs, cell_labels, image_id, words):
        rows, cols, cells, starts = [], [], [], []
        for b, (ids, _, _) in enumerate(seqs):
            image = np.flatnonzero(ids == image_id)
            if len(image) == 0:
                continue
            labels = cell_labels[b]
            for t in range(int(image[-1]) + 1, len(ids)):
                mask = CacheShaping.shape_cells(ids, t, labels, words)
                if mask is None or not bool(mask.any()):
                    continue
                rows.append(b)
                cols.append(t)
                cells.append(mask)
                starts.append(int(image[0]))
        answer = CacheShaping.answer_grounding(seqs, cell_labels, image_id, words)
        if not rows and answer is None:
            return None
        out = dict(rows=torch.tensor(rows), cols=torch.tensor(cols), starts=torch.tensor(starts, dtype=torch.long),
                   cells=torch.stack(cells) if cells else torch.zeros((0, cell_labels.shape[1]), dtype=torch.bool))
        out["answer"] = answer
        return out

    ANSWER_KINDS = ("attribute", "spatial", "spatial-word", "color-word")
    ONE_SHAPE_KINDS = ("attribute", "color-word")

    @staticmethod
    def answer_grounding(seqs, cell_labels, image_id, words):
        """For every attribute or spatial turn: the position that predicts its first answer token, the
        head (1 for the first shape the turn's prompt names, 2 for the second) and that shape's cells.
        A spatial turn counts only when both of its shapes have labelled cells."""
        rows, cols, heads, cells, starts, colors, lookups = [], [], [], [], [], [], []
        options = dict(rows=[], cols=[], cells=[], starts=[])
        for b, (ids, spans, kinds) in enumerate(seqs):
            image = np.flatnonzero(ids == image_id)
            if len(image) == 0:
                continue
            labels = cell_labels[b]
            begin = int(image[-1]) + 1
            for (lo, hi), kind in zip(spans, kinds):
                if kind in CacheShaping.ANSWER_KINDS:
                    found = []
                    for t in range(begin, lo):
                        mask = CacheShaping.shape_cells(ids, t, labels, words)
                        if mask is not None:
                            found.append(mask)
                    need = 1 if kind in CacheShaping.ONE_SHAPE_KINDS else 2
                    # the colour options of an attribute turn: (position, colour class)
                    choices = [] if kind != "attribute" else [
                        (t, words[int(ids[t])][1]) for t in range(begin, lo)
                        if words.get(int(ids[t]), ("",))[0] == "color"]
                    if choices and found and bool(found[0].any()):
                        for t, _ in choices:
                            options["rows"].append(b)
                            options["cols"].append(t)
                            options["cells"].append(found[0])
                            options["starts"].append(int(image[0]))
                    if len(found) >= need and all(bool(m.any()) for m in found[:need]):
                        for h, mask in enumerate(found[:need]):
                            # the named object's colour (attribute turns; -1 otherwise): the commonest
                            # colour label under its cells
                            colour = -1
                            if kind in CacheShaping.ONE_SHAPE_KINDS:
                                under = labels[mask, 1].long()
                                under = under[(under > 0) & (under != 255)]
                                if len(under):
                                    colour = int(torch.bincount(under).argmax()) - 1
                            colors.append(colour)
                            # the option word naming that colour (-1: none of the prompt's)
                            lookups.append(max((t for t, c in choices if c == colour and colour >= 0), default=-1))
                            rows.append(b)
                            cols.append(lo - 1)
                            heads.append(1 + h)
                            cells.append(mask)
                            starts.append(int(image[0]))
                begin = hi
        if not rows:
            return None
        opts = None
        if options["rows"]:
            opts = dict(rows=torch.tensor(options["rows"]), cols=torch.tensor(options["cols"]),
                        cells=torch.stack(options["cells"]), starts=torch.tensor(options["starts"]))
        return dict(rows=torch.tensor(rows), cols=torch.tensor(cols), heads=torch.tensor(heads),
                    cells=torch.stack(cells), starts=torch.tensor(starts), colors=torch.tensor(colors), options=opts,
                    lookups=torch.tensor(lookups))

    def attention_probs(self, captured, batch, layer, rows, cols):
        """Attention probabilities [n, heads, T] of the query positions (rows, cols) in `layer`, as
        LlamaAttention computes them (RoPE at positions 0..T-1, 1/sqrt(d), causal)."""
        B, T = batch["input_ids"].shape
        d = self.head_dim
        positions = torch.arange(T)[None]
        q = captured[("q", layer)].view(B, T, self.heads, d)
        k = captured[("k", layer)].view(B, T, self.heads, d)
        cos, sin = self.model.model.language_model.rotary_emb(q, positions)
        cos, sin = cos[0][:, None, :], sin[0][:, None, :]
        q_rot = (q[rows, cols] * cos[cols] + rotate_half(q[rows, cols]) * sin[cols])   # [n, heads, d]
        k_rot = (k * cos + rotate_half(k) * sin)[rows]                                  # [n, T, heads, d]
        scores = torch.einsum("nhd,nthd->nht", q_rot, k_rot) / math.sqrt(d)
        future = positions[0][None, :] > cols[:, None]
        return scores.masked_fill(future[:, None, :], float("-inf")).softmax(-1)

    def answer_loss(self, captured, batch, a):
        n, patches = a["cells"].shape
        image_cols = a["starts"][:, None] + torch.arange(patches)[None]
        total, mass_sum = 0.0, 0.0
        if self.column_weight > 0 or self.sign_weight > 0:
            centre, pair = self.column_centres(a), self.pairs(a)
        for layer in self.answer_layers:
            probs = self.attention_probs(captured, batch, layer, a["rows"], a["cols"])     # [n, heads, T]
            chosen = probs[torch.arange(n), a["heads"]]                                     # [n, T]
            mass = (chosen.gather(1, image_cols) * a["cells"]).sum(-1)
            total = total + self.answer_weight / len(self.answer_layers) * -(mass + 1e-6).log().mean()
            mass_sum += float(mass.detach().mean())
            if self.column_weight > 0:
                total = total + self.column_weight / len(self.answer_layers) * self.column_loss(
                    captured, batch, a, layer, centre, pair)
        self.stats[4] += mass_sum / len(self.answer_layers) * n
        self.stats[5] += n
        if self.sign_weight > 0:
            total = total + self.sign_weight * self.sign_loss(captured, a, centre, pair)
        if self.color_weight > 0:
            total = total + self.color_weight * self.color_loss(captured, a)
        chosen = torch.nonzero(a["lookups"] >= 0).flatten()
        if self.lookup_weight > 0 and len(chosen):
            probs = self.attention_probs(captured, batch, self.lookup_layer, a["rows"][chosen], a["cols"][chosen])
            mass = probs[torch.arange(len(chosen)), self.lookup_head].gather(1, a["lookups"][chosen][:, None])[:, 0]
            total = total + self.lookup_weight * -(mass + 1e-6).log().mean()
            self.lookup_stats[0] += float(mass.detach().sum())
            self.lookup_stats[1] += len(chosen)
        return total

    def option_loss(self, captured, batch, o):
        """-log of the object's share of head --option-attention-head in the attention layers, and
        -log(1 - the share of the other image tokens) over every head in the quiet layers."""
        n, patches = o["cells"].shape
        image_cols = o["starts"][:, None] + torch.arange(patches)[None]
        total = 0.0
        layers = self.option_layers + self.quiet_layers
        for layer in set(layers):
            probs = self.attention_probs(captured, batch, layer, o["rows"], o["cols"])        # [n, heads, T]
            on_image = probs.gather(2, image_cols[:, None, :].expand(n, self.heads, patches))
            target = (on_image * o["cells"][:, None, :]).sum(-1)                              # [n, heads]
            elsewhere = (on_image * ~o["cells"][:, None, :]).sum(-1)
            if layer in self.option_layers:
                mass = target[:, self.option_head]
                total = total + -(mass + 1e-6).log().mean() / len(layers)
                self.option_stats[0] += float(mass.detach().mean()) * n / len(self.option_layers)
            if layer in self.quiet_layers:
                if self.quiet_eps > 0:
                    quiet = (elsewhere + self.quiet_eps).log() - math.log(self.quiet_eps)
                else:
                    quiet = -(1 - elsewhere + 1e-6).log()
                total = total + quiet.mean() / len(layers)
                self.option_stats[1] += float(elsewhere.detach().mean()) * n / len(self.quiet_layers)
        self.option_stats[2] += n
        return self.option_weight * total

    def color_loss(self, captured, a):
        chosen = torch.nonzero(a["colors"] >= 0).flatten()
        if len(chosen) == 0:
            return 0.0
        return self.word_loss(captured, a, chosen, self.color_words, a["colors"][chosen], self.color_stats)

    def column_centres(self, a):
        """The mean column of each entry's shape cells, 0 = leftmost patch column, 1 = rightmost."""
        patches = a["cells"].shape[1]
        columns = (torch.arange(patches) % self.grid).float() / (self.grid - 1)
        cells = a["cells"].float()
        return (cells * columns).sum(-1) / cells.sum(-1).clamp(min=1)

    @staticmethod
    def pairs(a):
        """Indices i of the (head 1 at i, head 2 at i + 1) entries of spatial turns."""
        lead = torch.nonzero(a["heads"][:-1] == 1).flatten()
        return lead[(a["heads"][lead + 1] == 2) & (a["rows"][lead + 1] == a["rows"][lead])
                    & (a["cols"][lead + 1] == a["cols"][lead])]

    def sign_loss(self, captured, a, centre, pair):
        if len(pair) == 0:
            return 0.0
        left = centre[pair] < centre[pair + 1]
        return self.word_loss(captured, a, pair, self.sign_words, (~left).long(), self.sign_stats)   # words: left, right

    def word_loss(self, captured, a, entries, word_ids, label, stats):
        """Cross-entropy of the hidden state entering `sign_layer` at the answer positions of `entries`,
        classified by its cosine (temperature 0.1) to the input embeddings of `word_ids`; counts the
        argmax hits into `stats`."""
        hidden = captured[("h", self.sign_layer)][a["rows"][entries], a["cols"][entries]]    # [p, hidden]
        words = self.model.model.language_model.embed_tokens.weight[word_ids]               # [words, hidden]
        logits = F.normalize(hidden, dim=-1) @ F.normalize(words, dim=-1).T / 0.1
        with torch.no_grad():
            stats[0] += int((logits.argmax(-1) == label).sum())
            stats[1] += len(entries)
        return F.cross_entropy(logits, label)

    def column_loss(self, captured, batch, a, layer, target, pair):
        """Mean squared error, in units of a uniform column's variance, of each grounded head's column
        read-out against the mean column of its shape's cells (`target`, from column_centres)."""
        B, T = batch["input_ids"].shape
        n = len(target)
        context = captured[("o", layer)].view(B, T, self.heads, self.head_dim)[a["rows"], a["cols"], a["heads"]]
        first = self.column_probes[f"{layer}_1"](context).squeeze(-1)
        second = self.column_probes[f"{layer}_2"](context).squeeze(-1)
        pred = torch.where(a["heads"] == 1, first, second)
        with torch.no_grad():
            self.column_stats[0] += float((pred - target).abs().sum()) * (self.grid - 1)
            self.column_stats[1] += n
            self.column_stats[2] += int(((pred[pair] < pred[pair + 1]) == (target[pair] < target[pair + 1])).sum())
            self.column_stats[3] += len(pair)
        return ((pred - target) ** 2).mean() / (1 / 12)

    def loss(self, batch):
        """The weighted sum of both losses for this batch's forward (0 when it has no grounded word)."""
        g = batch.get("grounding")
        captured, self.captured = self.captured, {}
        if g is None:
            return None
        total = 0.0
        if self.answer_weight > 0 and g.get("answer") is not None:
            total = total + self.answer_loss(captured, batch, g["answer"])
        if self.option_weight > 0 and g.get("answer") is not None and g["answer"].get("options") is not None:
            total = total + self.option_loss(captured, batch, g["answer"]["options"])
        rows, cols, cells = g["rows"], g["cols"], g["cells"]
        n, patches = cells.shape
        if n == 0:
            return total
        image_cols = g["starts"][:, None] + torch.arange(patches)[None]          # [n, patches]
        if self.attention_weight > 0:
            h = self.attention_heads
            mass_sum = 0.0
            for layer in self.attention_layers:
                probs = self.attention_probs(captured, batch, layer, rows, cols)[:, :h]   # [n, h, T]
                on_image = probs.gather(2, image_cols[:, None, :].expand(n, h, patches))
                mass = (on_image * cells[:, None, :]).sum(-1)                      # [n, h]
                total = total + self.attention_weight / len(self.attention_layers) * -(mass + 1e-6).log().mean()
                mass_sum += float(mass.detach().mean())
            self.stats[0] += mass_sum / len(self.attention_layers) * n
        if self.value_weight > 0:
            similarity, floor = 0.0, 0.0
            valid = batch["attention_mask"][rows].bool()                           # [n, T]
            for layer in self.value_layers:
                v = F.normalize(captured[("v", layer)].view(*batch["input_ids"].shape, self.heads, self.head_dim), dim=-1)
                word = v[rows, cols]                                               # [n, heads, d]
                image = v[rows[:, None], image_cols]                               # [n, patches, heads, d]
                similarity = similarity + torch.einsum("nhd,njhd->nj", word, image)
                # FOCUS divides each layer's row by (sum over every position of S_l[t, q]) + 1: a row
                # whose sum is negative flips that layer's map. Keep the mean similarity to all
                # positions at least self.floor (a pretrained LLaVA's values share a common
                # direction, so its sums are large and positive).
                everything = torch.einsum("nhd,nthd->nt", word, v[rows])
                mean = (everything * valid).sum(-1) / valid.sum(-1)
                floor = floor + F.relu(self.floor - mean).mean()
                with torch.no_grad():
                    self.stats[3] = min(self.stats[3], float(mean.min()))
            logits = self.scale * similarity / len(self.value_layers)
            target = torch.logsumexp(logits.masked_fill(~cells, float("-inf")), -1)
            total = total + self.value_weight * ((torch.logsumexp(logits, -1) - target).mean() + floor)
            with torch.no_grad():
                self.stats[1] += float(cells.gather(1, logits.argmax(-1, keepdim=True)).sum())
        self.stats[2] += n
        return total

    def report(self) -> str:
        mass, hits, n, lowest, answer_mass, answer_n = self.stats
        self.stats = [0.0, 0.0, 0, float("inf"), 0.0, 0]
        parts = []
        if self.answer_weight > 0 and answer_n:
            parts.append(f"answer attention on target {answer_mass / answer_n * 100:.1f}% ({answer_n})")
        err, entries, right, pairs = self.column_stats
        self.column_stats = [0.0, 0, 0, 0]
        if self.sign_weight > 0 and self.sign_stats[1]:
            parts.append(f"left/right word at layer {self.sign_layer} {self.sign_stats[0] / self.sign_stats[1] * 100:.1f}%")
        self.sign_stats = [0, 0]
        if self.color_weight > 0 and self.color_stats[1]:
            parts.append(f"colour word at layer {self.sign_layer} {self.color_stats[0] / self.color_stats[1] * 100:.1f}%")
        self.color_stats = [0, 0]
        if self.lookup_weight > 0 and self.lookup_stats[1]:
            parts.append(f"answer on the object's colour option {self.lookup_stats[0] / self.lookup_stats[1] * 100:.1f}%")
        self.lookup_stats = [0.0, 0]
        on_object, elsewhere, options = self.option_stats
        self.option_stats = [0.0, 0.0, 0]
        if self.option_weight > 0 and options:
            if self.option_layers:
                parts.append(f"options on object {on_object / options * 100:.1f}%")
            if self.quiet_layers:
                parts.append(f"options on other image tokens {elsewhere / options * 100:.1f}%")
        if self.column_weight > 0 and entries:
            parts.append(f"answer column error {err / entries:.2f} cells, "
                         f"left/right from it {right / max(1, pairs) * 100:.1f}% ({pairs // len(self.answer_layers)})")
        if n == 0:
            return ", ".join(parts) or "no grounded words"
        if self.attention_weight > 0:
            parts.append(f"attention on target {mass / n * 100:.1f}%")
        if self.value_weight > 0:
            parts.append(f"value top-1 on target {hits / n * 100:.1f}%, lowest mean value cosine {lowest:.2f}")
        return ", ".join(parts) + f" ({n} words)"


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class CellHeads(torch.nn.Module):
    """Auxiliary linear read-outs of the projected patch features (what the decoder sees): the shape
    and the colour under each patch. Dense labels teach a from-scratch ViT in minutes what a one-bit
    Yes/No answer teaches in hours; the heads are not part of the exported checkpoint."""

    def __init__(self, hidden, classes, grid=0, position_weight=0.0):
        super().__init__()
        self.shape = torch.nn.Linear(hidden, classes[0])
        self.color = torch.nn.Linear(hidden, classes[1])
        # Optional: the column of every patch, so that left/right stays linearly readable in what the
        # decoder sees (RoPE gives it only the raster distance between tokens, not the column).
        self.position_weight = position_weight
        self.column = torch.nn.Linear(hidden, grid) if position_weight > 0 else None

    @staticmethod
    def balanced(logits, labels):
        """Half the weight on object cells, half on background: objects cover about a tenth of the
        cells, and an unweighted loss lets the tower settle for "background" everywhere."""
        ce = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=255, reduction="none")
        labels = labels.flatten()
        obj, bg = (labels > 0) & (labels != 255), labels == 0
        parts = [ce[m].mean() for m in (obj, bg) if m.any()]
        return sum(parts) / len(parts)

    def loss(self, features, labels):
        """Mean cross-entropy of both read-outs (ignored cells skipped), and per-patch accuracies on
        object cells."""
        shape_logits, color_logits = self.shape(features), self.color(features)
        ls = self.balanced(shape_logits, labels[..., 0])
        lc = self.balanced(color_logits, labels[..., 1])
        with torch.no_grad():
            obj = (labels[..., 0] > 0) & (labels[..., 0] != 255)
            n = max(1, int(obj.sum()))
            acc_s = float((shape_logits.argmax(-1) == labels[..., 0])[obj].sum()) / n
            acc_c = float((color_logits.argmax(-1) == labels[..., 1])[obj].sum()) / n
        # Colour is learnt in a few hundred steps; shape is the hard part, so it gets most of the weight.
        loss = 0.75 * ls + 0.25 * lc
        if self.column is not None:
            n_patches = features.shape[1]
            grid = self.column.out_features
            columns = torch.arange(n_patches) % grid
            col_logits = self.column(features)
            loss = loss + self.position_weight * F.cross_entropy(
                col_logits.flatten(0, 1), columns.repeat(features.shape[0]))
        return loss, acc_s, acc_c


def image_features(model, pixel_values):
    out = model.model.get_image_features(pixel_values=pixel_values, vision_feature_layer=-2,
                                         vision_feature_select_strategy="default")
    return torch.stack(list(out.pooler_output))


def batch_parts(model, batch, heads=None, aux_weight=0.0, prompt_weight=0.0, shaping=None):
    """Per-turn answer losses (mean over each turn's answer tokens and </s>), the per-patch loss times
    aux_weight when heads are given, and the prompt tokens' next-token losses when prompt_weight > 0."""
    logits, features, prompt = answer_logits(model, batch, with_features=True, prompt_logits=prompt_weight > 0)
    token_loss = F.cross_entropy(logits.float(), batch["targets"], reduction="none")
    n = batch["turns"]
    per_turn = torch.zeros(n).index_add_(0, batch["turn_of"], token_loss)
    counts = torch.zeros(n).index_add_(0, batch["turn_of"], torch.ones_like(token_loss))
    aux = None
    if heads is not None and features is not None and batch["cell_labels"] is not None and aux_weight > 0:
        aux, _, _ = heads.loss(features, batch["cell_labels"])
    # The word-tied loss of --align-weight rides with the heads (`heads.align`). Its term is added to
    # the per-patch loss before that is scaled by aux_weight, so it carries exactly --align-weight.
    align = getattr(heads, "align", None)
    if align is not None and features is not None and batch["cell_labels"] is not None:
        aligned = align.weight / max(aux_weight, 1e-9) * align.loss(
            features, batch["cell_labels"], model.model.language_model.embed_tokens.weight)
        aux = aligned if aux is None else aux + aligned
    prompt_losses = None
    if prompt is not None:
        prompt_losses = F.cross_entropy(prompt.float(), batch["prompt_targets"], reduction="none")
    shaped = shaping.loss(batch) if shaping is not None else None
    return per_turn / counts, aux, prompt_losses, shaped


def step_loss(model, batches, heads=None, aux_weight=0.0, prompt_weight=0.0, shaping=None):
    """The loss of one optimizer step over its batches (image conversations and text-only samples are
    padded separately, so a 50-token text sample does not pay for a 300-token conversation): the mean
    over all answer turns, plus aux_weight times the per-patch loss, plus prompt_weight times the mean
    next-token loss on the prompt text (language-model signal for a from-scratch decoder: it learns the
    words, and copying, from every sample instead of from one answer each)."""
    turns, prompts, loss_aux = [], [], 0.0
    for batch in batches:
        per_turn, aux, prompt_losses, shaped = batch_parts(model, batch, heads, aux_weight, prompt_weight, shaping)
        turns.append(per_turn)
        if shaped is not None:
            loss_aux = loss_aux + shaped
        if aux is not None:
            loss_aux = loss_aux + aux_weight * aux
        if prompt_losses is not None:
            prompts.append(prompt_losses)
    loss = torch.cat(turns).mean() + loss_aux
    if prompts:
        loss = loss + prompt_weight * torch.cat(prompts).mean()
    return loss


def split_by_image(data: Data, indices):
    """The step's samples as up to two groups: with an image, text only."""
    with_image = [k for k in indices if data.samples[k]["image_index"] is not None]
    text = [k for k in indices if data.samples[k]["image_index"] is None]
    return [g for g in (with_image, text) if g]


# MARK: - Model

def make_model(args, tokenizer, image_size: int) -> LlavaForConditionalGeneration:
    vocab = ((len(tokenizer) + 63) // 64) * 64  # padded, like llava-1.5's 32064
    grid = image_size // args.patch_size
    # Room for the image and 256 text tokens (4-turn conversations); 512 up to a 16x16 grid.
    positions = 512 if grid * grid + 256 <= 512 else 1024
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(hidden_size=args.vision_hidden, intermediate_size=args.vision_mlp,
                                       num_hidden_layers=args.vision_layers,
                                       num_attention_heads=args.vision_heads, image_size=image_size,
                                       patch_size=args.patch_size, hidden_act="quick_gelu"),
        text_config=LlamaConfig(vocab_size=vocab, hidden_size=args.text_hidden, intermediate_size=args.text_mlp,
                                num_hidden_layers=args.text_layers, num_attention_heads=args.text_heads,
                                num_key_value_heads=args.text_heads, max_position_embeddings=positions,
                                rms_norm_eps=1e-5, tie_word_embeddings=False,
                                bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                                pad_token_id=tokenizer.pad_token_id),
        image_token_index=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
        image_seq_length=grid * grid,
        vision_feature_layer=-2, vision_feature_select_strategy="default",
        projector_hidden_act="gelu", multimodal_projector_bias=True, tie_word_embeddings=False)
    torch.manual_seed(args.seed)
    model = LlavaForConditionalGeneration(config)
    init_positions(model.model.vision_tower.embeddings.position_embedding.weight, grid)
    model.generation_config = GenerationConfig(bos_token_id=tokenizer.bos_token_id,
                                               eos_token_id=tokenizer.eos_token_id,
                                               pad_token_id=tokenizer.pad_token_id)
    return model


@torch.no_grad()
def init_positions(weight, grid: int):
    """2-D sine-cosine start values for the ViT's learned position embeddings (as MAE fixes them): with
    them, attention to neighbouring patches is easy from the first step, and a from-scratch tower
    starts combining an object's patches long before random embeddings would let it."""
    dim = weight.shape[1]
    quarter = dim // 4
    omega = 1.0 / (10000 ** (torch.arange(quarter, dtype=torch.float32) / quarter))
    ys, xs = torch.meshgrid(torch.arange(grid, dtype=torch.float32), torch.arange(grid, dtype=torch.float32),
                            indexing="ij")
    def embed(pos):
        out = pos.flatten()[:, None] * omega[None]
        return torch.cat([out.sin(), out.cos()], dim=1)
    table = torch.cat([embed(ys), embed(xs)], dim=1)  # [grid * grid, 4 * quarter]
    weight.zero_()
    weight[1:, :table.shape[1]] = table * 0.5  # row 0 is the class token's position
    weight[0].normal_(0, 0.02)


@torch.no_grad()
def init_patch_embedding(model, data: "Data", patch: int, count: int = 2000, seed: int = 0):
    """PCA-whitened start values for the patch embedding (the stride-`patch` convolution): the
    leading components of the training patches, each scaled to unit variance. Raw pixels are dominated
    by colour; whitened, the edge and corner patterns that tell a star from a hexagon are as loud as
    colour from the first step, and a from-scratch tower learns shapes far sooner."""
    conv = model.model.vision_tower.embeddings.patch_embedding
    out_dim = conv.weight.shape[0]
    rng = np.random.default_rng(seed + 3)
    idx = np.sort(rng.choice(len(data.images), size=min(count, len(data.images)), replace=False))
    x = data.pixel_values(idx)  # [n, 3, S, S]
    n, c, size, _ = x.shape
    g = size // patch
    patches = x.reshape(n, c, g, patch, g, patch).permute(0, 2, 4, 1, 3, 5).reshape(-1, c * patch * patch)
    patches = patches - patches.mean(0, keepdim=True)
    cov = patches.T @ patches / len(patches)
    eigenvalues, vectors = torch.linalg.eigh(cov)  # ascending
    k = min(out_dim, vectors.shape[1])
    top = vectors[:, -k:].flip(1) / (eigenvalues[-k:].flip(0) + 1e-3).sqrt()
    weight = torch.zeros(out_dim, c * patch * patch)
    weight[:k] = top.T
    conv.weight.copy_(weight.reshape(out_dim, c, patch, patch) * 0.5)


def make_processor(tokenizer, image_size: int, patch_size: int) -> LlavaProcessor:
    """The transformers-5 processor (CLIPImageProcessorPil + LlavaProcessor), as make_model_fixtures.py."""
    image_processor = CLIPImageProcessorPil(
        do_resize=True, size={"shortest_edge": image_size}, resample=3, do_center_crop=True,
        crop_size={"height": image_size, "width": image_size}, do_rescale=True, rescale_factor=1 / 255,
        do_normalize=True, image_mean=CLIP_MEAN, image_std=CLIP_STD, do_convert_rgb=True)
    return LlavaProcessor(image_processor=image_processor, tokenizer=tokenizer, patch_size=patch_size,
                          vision_feature_select_strategy="default", num_additional_image_tokens=1,
                          image_token=IMAGE_TOKEN)


def make_optimizer(modules, args, lr=None, vision_scale=1.0):
    """AdamW, no decay on biases, norms and embeddings; the vision tower, projector and cell heads
    (names with `vision_tower`, `multi_modal_projector`, or in a CellHeads) at `vision_scale` times
    the learning rate (group["scale"], applied by the schedule)."""
    named = [(n if not isinstance(m, CellHeads) else "heads." + n, p) for m in modules for n, p in m.named_parameters()]
    def is_vision(n):
        return "vision_tower" in n or "multi_modal_projector" in n or n.startswith("heads.")
    groups = []
    for vision in (False, True):
        part = [(n, p) for n, p in named if is_vision(n) == vision]
        scale = vision_scale if vision else 1.0
        groups.append({"params": [p for n, p in part if p.dim() >= 2 and "embed" not in n],
                       "weight_decay": args.weight_decay, "scale": scale})
        groups.append({"params": [p for n, p in part if not (p.dim() >= 2 and "embed" not in n)],
                       "weight_decay": 0.0, "scale": scale})
    # The answer's column probes start at random on a trained model: at a continuation's small rate
    # they would take a thousand steps to fit, sending noise into the decoder meanwhile.
    probes = [p for n, p in named if n.startswith("heads.answer_columns.")]
    for g in groups:
        g["params"] = [p for p in g["params"] if not any(p is q for q in probes)]
    if probes:
        groups.append({"params": probes, "weight_decay": 0.0, "scale": args.column_lr / (lr or args.lr)})
    groups = [g for g in groups if g["params"]]
    return torch.optim.AdamW(groups, lr=lr or args.lr, betas=(0.9, 0.98), eps=1e-8)


def load_vision(model, heads, path: Path, log_file):
    """The vision tower, projector and per-patch heads of a saved state (its decoder is ignored): a
    finished stage 1 serves any run with the same vision shapes and image distribution."""
    state = torch.load(path, weights_only=False)
    parts = {k: v for k, v in state["model"].items()
             if k.startswith("model.vision_tower.") or k.startswith("model.multi_modal_projector.")}
    missing, unexpected = model.load_state_dict(parts, strict=False)
    mine = [k for k in model.state_dict() if k.startswith("model.vision_tower.") or k.startswith("model.multi_modal_projector.")]
    absent = [k for k in mine if k not in parts]
    if absent or unexpected:
        raise SystemExit(f"{path}: not a matching vision tower (missing {absent[:3]}, unexpected {unexpected[:3]})")
    if heads is not None:
        if state.get("heads") is None:
            raise SystemExit(f"{path}: holds no per-patch heads")
        heads.load_state_dict(state["heads"])
    log(f"vision tower, projector and per-patch heads from {path} (its step {state['step']}); stage 1 skipped", log_file)


def load_model(model, folder: Path, log_file):
    """Every weight of an exported checkpoint (float16 or float32 on disk, float32 here); the shapes
    must be those the flags give, except a patch embedding a whole factor finer than the checkpoint's
    (`upsampled_patch_embedding`)."""
    trained = LlavaForConditionalGeneration.from_pretrained(str(folder), dtype=torch.float32)
    mine, theirs = model.state_dict(), trained.state_dict()
    note = ""
    key = next((k for k in mine if k.endswith("embeddings.patch_embedding.weight")), None)
    if key is not None and key in theirs and mine[key].shape != theirs[key].shape:
        theirs[key], factor = upsampled_patch_embedding(theirs[key], mine[key].shape, folder)
        note = f" (patch embedding {factor}x finer: each weight spread over a {factor}x{factor} block)"
    key = next((k for k in mine if k.endswith("embeddings.position_embedding.weight")), None)
    if key is not None and key in theirs and mine[key].shape != theirs[key].shape:
        theirs[key], grids = interpolated_positions(theirs[key], mine[key].shape, folder)
        note += f" (position grid {grids[0]}x{grids[0]} interpolated to {grids[1]}x{grids[1]}, bicubic)"
    grown = appended_decoder_layers(mine, theirs)
    if grown:
        note += (f" (decoder grown by {grown} layer{'s' if grown > 1 else ''}: copies of its last layer with "
                 f"the attention and MLP output projections zeroed)")
    if set(mine) != set(theirs) or any(mine[k].shape != theirs[k].shape for k in mine):
        raise SystemExit(f"{folder}: its weights do not match the architecture the flags describe")
    model.load_state_dict(theirs)
    log(f"every weight from {folder}{note}", log_file)


def appended_decoder_layers(mine, theirs) -> int:
    """When --text-layers asks for more decoder layers than the checkpoint has, the missing ones are
    added on top (into `theirs`, in place) as copies of its last layer whose two output projections
    (attention o_proj, MLP down_proj) are zero: each new layer starts as the identity on the
    residual stream, so the grown model answers exactly as the checkpoint did, and its attention
    already looks where the last layer looks (the option lookup), so the first gradients reach its
    output projections with a useful read to pass on. Why: the colour of one large object among
    about twenty is read by the grounded head of layer 2 and lost in the one lookup layer after it;
    a second lookup layer is the cheapest place for the missing capacity. Returns how many."""
    prefix = "model.language_model.layers."
    def count(state):
        return len({k[len(prefix):].split(".")[0] for k in state if k.startswith(prefix)})
    have, want = count(theirs), count(mine)
    if want <= have or have == 0:
        return 0
    last = f"{prefix}{have - 1}."
    for new in range(have, want):
        for k in [k for k in theirs if k.startswith(last)]:
            name = f"{prefix}{new}." + k[len(last):]
            theirs[name] = theirs[k].clone()
            if name.endswith("self_attn.o_proj.weight") or name.endswith("mlp.down_proj.weight"):
                theirs[name].zero_()
    return want - have


def interpolated_positions(weight, shape, folder):
    """A checkpoint's learnt position embeddings (CLS first, then a g x g grid) for a larger or
    smaller grid: the grid resampled bicubically, the CLS row kept. With the patch size unchanged, a
    larger input shows every object over more patches, and each patch keeps the pixel scale the tower
    learnt on, so continuation training starts from features it already computes. Why: a finer grid
    gives FOCUS's relevance map more cells and a small object more pixels in the full view (96 -> 144
    px, stages 10-11: small-object FOCUS at 8 steps 70.0 -> 80.5 %). It was tried for the colour of
    large objects in a full view, and did not move it (model card, stages 10-11)."""
    n, dim = weight.shape
    g0, g1 = round((n - 1) ** 0.5), round((shape[0] - 1) ** 0.5)
    if g0 * g0 != n - 1 or g1 * g1 != shape[0] - 1 or shape[1] != dim:
        raise SystemExit(f"{folder}: position embedding {tuple(weight.shape)} cannot be resampled to {tuple(shape)}")
    grid = weight[1:].reshape(g0, g0, dim).permute(2, 0, 1)[None]
    grid = torch.nn.functional.interpolate(grid, size=(g1, g1), mode="bicubic", align_corners=False)
    return torch.cat([weight[:1], grid[0].permute(1, 2, 0).reshape(g1 * g1, dim)]), (g0, g1)


def upsampled_patch_embedding(weight, shape, folder):
    """A checkpoint's patch embedding for a patch `factor` times larger, on an input `factor` times
    larger, so that the grid and every other weight stay as they are. Each pixel weight is spread
    over a factor x factor block and divided by its area: the new patch then sees the block means of
    the finer view, which is (up to the resize filter) the coarser view the checkpoint was trained on,
    and continuation training starts from the checkpoint's own behaviour with factor² the pixels to
    learn from. Why: at 96 px a 25-px object of a 2048-px scene is 12 px in FOCUS's one-cell crops, where
    the toy tells a hexagon from a circle badly (its false Yes stop the search)."""
    out_c, in_c, kh, kw = weight.shape
    if (shape[0], shape[1]) != (out_c, in_c) or kh != kw or shape[2] != shape[3] or shape[2] % kh:
        raise SystemExit(f"{folder}: patch embedding {tuple(weight.shape)} cannot be spread to {tuple(shape)}")
    f = shape[2] // kh
    return weight.repeat_interleave(f, dim=2).repeat_interleave(f, dim=3) / (f * f), f


def fit_heads(model, heads, data, train_images, val_images, args, log_file):
    """Fresh per-patch heads fitted on the frozen features of a loaded checkpoint, so that the
    auxiliary loss of stage 2 starts from sensible read-outs instead of sending random gradients
    into a trained vision tower."""
    optimizer = torch.optim.AdamW(heads.parameters(), lr=3e-3)
    rng = np.random.default_rng(args.seed + 7)
    start = time.time()
    for step in range(1, args.head_steps + 1):
        idx = sorted(rng.choice(train_images, size=args.vision_batch_size, replace=False).tolist())
        with torch.no_grad(), autocast(args):
            features = image_features(model, data.pixel_values(idx))
        with autocast(args):
            loss, _, _ = heads.loss(features, data.cell_labels(idx))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    log(f"per-patch heads fitted in {args.head_steps} steps ({(time.time() - start) / 60:.1f} min); held-out "
        + cell_eval(model, heads, data, val_images), log_file)


def pretrain_vision(model, heads, data, train_images, val_images, args, log_file, minutes=None, anchor=None):
    """Stage 1: the vision tower and projector learn the per-patch labels alone (no decoder), for
    --vision-minutes (or `minutes`): warmup, then cosine decay over the time budget. `anchor`, a frozen
    copy of the loaded model, pulls the projected features towards its own (--vision-anchor-weight,
    relative to their mean square) when a trained tower is sharpened before stage 2."""
    modules = [model.model.vision_tower, model.model.multi_modal_projector, heads]
    optimizer = make_optimizer(modules, args, lr=args.vision_lr)
    params = [p for m in modules for p in m.parameters()]
    rng = np.random.default_rng(args.seed + 5)
    start, step = time.time(), 0
    budget = (args.vision_minutes if minutes is None else minutes) * 60
    window = [0.0, 0.0, 0.0, 0]
    while time.time() - start < budget:
        frac = (time.time() - start) / budget
        lr = args.vision_lr * min(1.0, (step + 1) / 50) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        for group in optimizer.param_groups:
            group["lr"] = lr
        idx = sorted(rng.choice(train_images, size=args.vision_batch_size, replace=False).tolist())
        pixels = data.pixel_values(idx)
        with autocast(args):
            features = image_features(model, pixels)
            loss, acc_s, acc_c = heads.loss(features, data.cell_labels(idx))
            if anchor is not None:
                with torch.no_grad():
                    reference = image_features(anchor, pixels)
                loss = loss + args.vision_anchor_weight * F.mse_loss(features, reference) / reference.pow(2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, args.clip)
        optimizer.step()
        step += 1
        window = [window[0] + loss.item(), window[1] + acc_s, window[2] + acc_c, window[3] + 1]
        if step % args.log_every == 0:
            n = window[3]
            log(f"vision step {step}: cell loss {window[0] / n:.4f}, object cells: shape {window[1] / n * 100:.1f}%, "
                f"colour {window[2] / n * 100:.1f}% | lr {lr:.2e} | {(time.time() - start) / 60:.1f} min", log_file)
            window = [0.0, 0.0, 0.0, 0]
        if step % (args.log_every * 10) == 0:
            # the held-out check is diagnostic: its time is not taken from the training budget
            paused = time.time()
            log(f"vision step {step}: held-out " + cell_eval(model, heads, data, val_images), log_file)
            start += time.time() - paused
    log(f"vision pretraining: {step} steps; held-out " + cell_eval(model, heads, data, val_images), log_file)


def pretrain_text(model, data, encoded, train, val, pad_id, image_id, args, log_file):
    """Stage 1b: the decoder on text-only samples of --text-kinds (by default the lookups: the answer
    stated, then the multiple-choice question), in large batches of short sequences. Mapping an answer to
    its option letter is an induction-style copy that a from-scratch decoder learns late and
    suddenly; with images in every batch it stayed at chance for the whole budget of stage 2
    (validation lookup 46 %), while text-only batches are ~6x cheaper per sample and reach the
    transition in minutes. The vision tower and projector are untouched."""
    kinds = set(args.text_kinds.split(","))
    text_train = [k for k in train if data.samples[k]["image_index"] is None and data.samples[k]["kind"] in kinds]
    text_val = [k for k in val if data.samples[k]["image_index"] is None and data.samples[k]["kind"] in kinds]
    if not text_train:
        raise SystemExit(f"{args.data} has no text-only samples of kinds {sorted(kinds)} for --text-steps")
    decoder = [(n, p) for n, p in model.named_parameters()
               if "vision_tower" not in n and "multi_modal_projector" not in n]
    optimizer = torch.optim.AdamW(
        [{"params": [p for n, p in decoder if p.dim() >= 2 and "embed" not in n], "weight_decay": args.weight_decay},
         {"params": [p for n, p in decoder if not (p.dim() >= 2 and "embed" not in n)], "weight_decay": 0.0}],
        lr=args.text_lr, betas=(0.9, 0.98), eps=1e-8)
    rng = np.random.default_rng(args.seed + 41)
    start, window, window_n = time.time(), 0.0, 0
    log(f"stage 1b: {args.text_steps} steps of {args.text_batch_size} text-only samples "
        f"({len(text_train)} in the training split)", log_file)
    for step in range(1, args.text_steps + 1):
        warm = min(1.0, step / 50)
        progress = step / args.text_steps
        lr = args.text_lr * warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
        for group in optimizer.param_groups:
            group["lr"] = lr
        idx = [text_train[i] for i in rng.integers(0, len(text_train), args.text_batch_size)]
        batch = collate(data, encoded, idx, pad_id, image_id)
        with autocast(args):
            loss = step_loss(model, [batch], None, 0.0, args.prompt_loss_weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for _, p in decoder], args.clip)
        optimizer.step()
        window += loss.item()
        window_n += 1
        if step % args.log_every == 0:
            log(f"text step {step}/{args.text_steps} loss {window / window_n:.4f} lr {lr:.2e} | "
                f"{(time.time() - start) / 60:.1f} min", log_file)
            window, window_n = 0.0, 0
        if step % args.eval_every == 0 or step == args.text_steps:
            log(f"text step {step}: " + format_eval(evaluate(model, data, encoded, text_val, pad_id)), log_file)
    return time.time() - start


@torch.no_grad()
def cell_eval(model, heads, data, images, batch_size=128):
    accs = []
    for start in range(0, len(images), batch_size):
        idx = images[start:start + batch_size]
        _, acc_s, acc_c = heads.loss(image_features(model, data.pixel_values(idx)), data.cell_labels(idx))
        accs.append((len(idx), acc_s, acc_c))
    n = sum(a[0] for a in accs)
    return (f"object cells: shape {sum(a[0] * a[1] for a in accs) / n * 100:.1f}%, "
            f"colour {sum(a[0] * a[2] for a in accs) / n * 100:.1f}% ({n} images)")


def lr_at(step: int, args) -> float:
    """Linear warmup, then cosine decay to min_lr_ratio at --steps."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = min(1.0, (step - args.warmup) / max(1, args.steps - args.warmup))
    return args.lr * (args.min_lr_ratio + (1 - args.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def batch_indices(train, step: int, batch_size: int, seed: int):
    """The samples of optimizer step `step`: a fresh seeded permutation per epoch (resumable)."""
    per_epoch = len(train) // batch_size
    epoch, pos = divmod(step, per_epoch)
    order = np.random.default_rng(seed * 1000 + epoch).permutation(len(train))
    return [train[i] for i in order[pos * batch_size:(pos + 1) * batch_size]], epoch


# MARK: - Validation

@torch.no_grad()
def evaluate(model, data, encoded, val, pad_id, batch_size=48):
    """Per kind, over every turn: loss, first-token accuracy (the greedy first answer token, e.g. the
    letter or Yes/No) and exact match (every answer token and </s> is the argmax given the previous
    ones, which is exactly 'greedy decoding reproduces the answer and stops'). First turns, the form
    every evaluation asks in, are also counted apart (`first-turn`)."""
    model.eval()
    stats = {k: [0, 0, 0, 0.0] for k in KINDS + ["first-turn"]}  # n, first ok, exact ok, loss sum
    for start in range(0, len(val), batch_size):
        for idx in split_by_image(data, val[start:start + batch_size]):
            batch = collate(data, encoded, idx, pad_id)
            logits = answer_logits(model, batch)
            token_loss = F.cross_entropy(logits.float(), batch["targets"], reduction="none")
            correct = logits.argmax(-1) == batch["targets"]
            seen = set()
            for t, kind in enumerate(batch["turn_kinds"]):
                sel = batch["turn_of"] == t
                first_turn = batch["turn_sample"][t] not in seen
                seen.add(batch["turn_sample"][t])
                for key in [kind] + (["first-turn"] if first_turn and kind not in ("extraction", "lookup", "listing") else []):
                    st = stats[key]
                    st[0] += 1
                    st[1] += int(correct[sel][0])
                    st[2] += int(correct[sel].all())
                    st[3] += float(token_loss[sel].mean())
    model.train()
    return {k: dict(n=v[0], first=v[1] / v[0], exact=v[2] / v[0], loss=v[3] / v[0]) for k, v in stats.items() if v[0]}


def format_eval(stats) -> str:
    parts = []
    for kind, s in stats.items():
        if kind == "first-turn":
            continue
        acc = s["exact"] if kind in ("extraction", "listing") else s["first"]
        parts.append(f"{kind} {acc * 100:.1f}% (n={s['n']}, loss {s['loss']:.3f})")
    turns = {k: v for k, v in stats.items() if k != "first-turn"}
    total = sum(s["n"] for s in turns.values())
    mean_loss = sum(s["loss"] * s["n"] for s in turns.values()) / total
    first = stats.get("first-turn")
    if first:
        parts.append(f"first turns with an image {first['first'] * 100:.1f}% (n={first['n']})")
    return f"val loss {mean_loss:.4f} | " + " | ".join(parts)


# MARK: - Saving

def save_state(path: Path, model, optimizer, step: int, elapsed: float, args, heads=None, text_done=False):
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step, "text_done": text_done,
                "heads": heads.state_dict() if heads is not None else None,
                "elapsed": elapsed, "args": {k: str(v) for k, v in vars(args).items()}}, tmp)
    os.replace(tmp, path)


def export(model, tokenizer_dir: Path, out: Path, image_size: int, patch_size: int, dtype: str):
    """save_pretrained (weights in `dtype`), tokenizer files, generation and processor configs."""
    torch_dtype = getattr(torch, dtype)
    tokenizer = PreTrainedTokenizerFast.from_pretrained(str(tokenizer_dir))
    out.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "generation_config.json", "model.safetensors", "model.safetensors.index.json",
                 "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "processor_config.json",
                 "preprocessor_config.json"):
        if (out / name).exists():
            (out / name).unlink()
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp, state_dict={k: v.to(torch_dtype) for k, v in model.state_dict().items()})
        for f in ("config.json", "generation_config.json", "model.safetensors"):
            shutil.copy(Path(tmp) / f, out / f)
            os.chmod(out / f, 0o644)
    config = json.loads((out / "config.json").read_text())
    config["dtype"] = dtype
    (out / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tokenizer_dir / f, out / f)
    with tempfile.TemporaryDirectory() as tmp:
        make_processor(tokenizer, image_size, patch_size).save_pretrained(tmp)
        shutil.copy(Path(tmp) / "processor_config.json", out / "processor_config.json")
    size = (out / "model.safetensors").stat().st_size
    if size > 25 * 1024 * 1024:
        print(f"warning: {out}/model.safetensors is {size / 2**20:.1f} MiB, over the 25 MB budget", flush=True)
    return size


# MARK: - Main

def check_processor_tokens(data, tokenizer, encoded, val, image_tokens, patch_size, with_few_shot):
    """The ids of a few prompts equal what LlavaProcessor produces for them (image samples)."""
    processor = make_processor(tokenizer, data.size, patch_size)
    checked = 0
    for k in val:
        s = data.samples[k]
        if s["image_index"] is None:
            continue
        from PIL import Image
        image = Image.fromarray(np.asarray(data.images[s["image_index"]]))
        inputs = processor(images=image, text=f"USER: {s['prompt']} ASSISTANT:", return_tensors="pt")
        ids, spans, _ = encoded[k]
        n_prompt = spans[0][0]
        if inputs["input_ids"][0].tolist() != ids[:n_prompt].tolist():
            raise SystemExit(f"sample {s['id']}: our prompt ids differ from LlavaProcessor's")
        if not torch.allclose(inputs["pixel_values"], data.pixel_values([s["image_index"]]), atol=1e-5):
            raise SystemExit(f"sample {s['id']}: our pixel values differ from LlavaProcessor's")
        checked += 1
        if checked == 3:
            break


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    hf_logging.set_verbosity_error()
    args.work.mkdir(parents=True, exist_ok=True)
    log_file = args.work / "train.log"
    state_path = args.work / "state.pt"
    tokenizer_dir = args.work / "tokenizer"

    data = Data(args.data)
    if data.size % args.patch_size:
        raise SystemExit(f"input size {data.size} is not a multiple of the patch size {args.patch_size}")
    image_tokens = (data.size // args.patch_size) ** 2
    examples = json.loads(args.few_shot.read_text(encoding="utf-8"))
    train, val = split(data, args.val_samples, args.seed)
    if (args.resume or args.export_only) and not state_path.exists():
        raise SystemExit(f"{state_path}: no saved state to resume or export")
    if not (args.resume or args.export_only):
        if log_file.exists():
            log_file.unlink()
        if args.init_model is not None:
            # The checkpoint's own tokenizer: its ids are what the weights were trained on.
            tokenizer_dir.mkdir(parents=True, exist_ok=True)
            for f in ("tokenizer.json", "tokenizer_config.json"):
                shutil.copy(args.init_model / f, tokenizer_dir / f)
        else:
            # The tokenizer is trained on the training split only (the held-out texts are not seen).
            build_tokenizer.build([data.samples[k] for k in train], examples, tokenizer_dir, args.vocab_size)
    tokenizer = PreTrainedTokenizerFast.from_pretrained(str(tokenizer_dir))
    model = make_model(args, tokenizer, data.size)
    heads = CellHeads(args.text_hidden, data.label_classes, data.size // args.patch_size, args.position_weight) \
        if data.labels is not None else None
    def variant_ids(names):
        """(class, id) of each word's other single-token forms: the toy's BPE merges a word with the
        punctuation after it ('▁ring?' ends a spatial question, '▁star.' an extraction answer) and
        has plurals ('▁stars'); a shape named in those forms is the same shape."""
        out = []
        for c, name in enumerate(names):
            for form in (name + "?", name + ".", name + "s", name + "s?", name + "s."):
                pieces = tokenizer(form, add_special_tokens=False)["input_ids"]
                if len(pieces) == 1:
                    out.append((c, pieces[0]))
        return out
    if args.align_weight > 0 and heads is not None:
        shape_ids = single_token_ids(tokenizer, data.manifest["shapes"], "--align-weight")
        heads.add_module("align", WordAlignment(args.text_hidden, shape_ids, args.align_weight))  # trained, saved with the heads
    for flag, weight in (("--column-weight", args.column_weight), ("--sign-weight", args.sign_weight),
                         ("--color-weight", args.color_weight)):
        if weight > 0 and (args.answer_attention_weight <= 0 or heads is None):
            raise SystemExit(f"{flag} reads the heads --answer-attention-weight grounds (and needs labels.u8)")
    shaping = None
    if (args.attention_weight > 0 or args.value_weight > 0 or args.answer_attention_weight > 0) and data.labels is not None:
        flag = "--attention-weight/--value-weight"
        words = {i: ("shape", c) for c, i in enumerate(single_token_ids(tokenizer, data.manifest["shapes"], flag))}
        words.update({i: ("color", c) for c, i in enumerate(single_token_ids(tokenizer, data.manifest["colors"], flag))})
        words.update({i: ("shape", c) for c, i in variant_ids(data.manifest["shapes"])})
        shaping = CacheShaping(model, words, layer_list(args.attention_layers),
                               args.attention_heads, args.attention_weight,
                               layer_list(args.value_layers), args.value_weight,
                               layer_list(args.answer_attention_layers),
                               args.answer_attention_weight,
                               column_weight=args.column_weight, grid=data.size // args.patch_size,
                               sign_words=single_token_ids(tokenizer, ["left", "right"], "--sign-weight") if args.sign_weight > 0 else None,
                               sign_weight=args.sign_weight,
                               color_words=single_token_ids(tokenizer, data.manifest["colors"], "--color-weight")
                               if args.color_weight > 0 else None,
                               color_weight=args.color_weight,
                               option_weight=args.option_attention_weight,
                               option_layers=layer_list(args.option_attention_layers),
                               option_head=args.option_attention_head,
                               quiet_layers=layer_list(args.option_quiet_layers),
                               quiet_eps=args.option_quiet_eps, lookup_weight=args.lookup_weight,
                               lookup_layer=args.lookup_layer, lookup_head=args.lookup_head)
        if shaping.column_probes is not None:   # trained and saved with the per-patch heads
            heads.add_module("answer_columns", shaping.column_probes)
    if args.init_model is not None and not (args.resume or args.export_only):
        load_model(model, args.init_model, log_file)
    elif not (args.resume or args.export_only):
        init_patch_embedding(model, data, args.patch_size, seed=args.seed)
    if args.init_vision is not None and not (args.resume or args.export_only):
        load_vision(model, heads, args.init_vision, log_file)
    optimizer = make_optimizer([model] + ([heads] if heads is not None else []), args,
                               vision_scale=args.vision_lr_scale)
    step, elapsed_before, text_done = 0, 0.0, False
    if args.resume or args.export_only:
        state = torch.load(state_path, weights_only=False)
        model.load_state_dict(state["model"])
        if heads is not None and state.get("heads") is not None:
            heads.load_state_dict(state["heads"])
        if state["step"] > 0:  # a state saved right after stage 1 has no answer-training moments yet
            optimizer.load_state_dict(state["optimizer"])
        step, elapsed_before = state["step"], state["elapsed"]
        text_done = state.get("text_done", False)
    if args.export_only:
        size = export(model, tokenizer_dir, args.out, data.size, args.patch_size, args.dtype)
        log(f"exported step {step} to {args.out} ({size / 2**20:.1f} MiB)", log_file)
        return

    counts = {k: sum(1 for i in train if data.samples[i]["kind"] == k) for k in KINDS}
    n_params = sum(p.numel() for p in model.parameters())
    log(f"data {args.data}: {len(data.samples)} samples, {len(data.images)} images of {data.size}px; "
        f"train {len(train)}, val {len(val)}; train kinds {counts}", log_file)
    log(f"model: {n_params / 1e6:.2f}M parameters, vocabulary {len(tokenizer)} (padded "
        f"{model.config.text_config.vocab_size}), {image_tokens} image tokens; "
        f"{'resuming at step ' + str(step) if args.resume else 'from ' + str(args.init_model) if args.init_model else 'from random init, seed ' + str(args.seed)}",
        log_file)
    encoded, with_few_shot = encode_all(data, tokenizer, image_tokens, examples, args.few_shot_fraction, args.seed)
    check_processor_tokens(data, tokenizer, encoded, val, image_tokens, args.patch_size, with_few_shot)
    lengths = [len(ids) for ids, _, _ in encoded]
    log(f"sequence length: mean {np.mean(lengths):.0f}, max {max(lengths)}; "
        f"{int(with_few_shot[[s['kind'] == 'extraction' for s in data.samples]].sum())} extraction samples "
        f"with the few-shot turns; {len(train) // args.batch_size} steps per epoch", log_file)
    if max(lengths) > model.config.text_config.max_position_embeddings:
        raise SystemExit(f"a sample has {max(lengths)} tokens, over max_position_embeddings")

    model.train()
    val_images = images_of(data, val)
    if heads is None:
        log(f"{args.data} has no labels.u8: no auxiliary per-patch loss", log_file)
    elif args.init_model is not None and not args.resume:
        train_images = images_of(data, train)
        fit_heads(model, heads, data, train_images, val_images, args, log_file)
        if args.vision_continue_minutes > 0:
            anchor = None
            if args.vision_anchor_weight > 0:
                anchor = copy.deepcopy(model).eval()
                for p in anchor.parameters():
                    p.requires_grad_(False)
            pretrain_vision(model, heads, data, train_images, val_images, args, log_file,
                            minutes=args.vision_continue_minutes, anchor=anchor)
            del anchor
    elif not args.resume and args.init_vision is None and args.vision_minutes > 0:
        pretrain_vision(model, heads, data, images_of(data, train), val_images, args, log_file)
    if args.text_steps > 0 and step == 0 and not text_done and args.init_model is None:
        elapsed_before += pretrain_text(model, data, encoded, train, val, tokenizer.pad_token_id,
                                        model.config.image_token_id, args, log_file)
        # A state to resume stage 2 from without redoing this one (step 0, no stage-2 moments).
        save_state(args.work / "stage1b.pt", model, optimizer, 0, elapsed_before, args, heads, text_done=True)
    start = time.time()
    last_save = start
    done_reason = "steps done"
    window_loss, window_n, window_start = 0.0, 0, time.time()
    while step < args.steps:
        if (time.time() - start) / 60 >= args.minutes:
            done_reason = f"time budget of {args.minutes:g} min reached"
            break
        idx, epoch = batch_indices(train, step, args.batch_size, args.seed)
        batches = [collate(data, encoded, group, tokenizer.pad_token_id, model.config.image_token_id,
                           shaping.words if shaping is not None else None)
                   for group in split_by_image(data, idx)]
        lr = lr_at(step, args)
        for group in optimizer.param_groups:
            group["lr"] = lr * group.get("scale", 1.0)
        with autocast(args):
            loss = step_loss(model, batches, heads, args.aux_weight, args.prompt_loss_weight, shaping)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        optimizer.step()
        step += 1
        window_loss += loss.item()
        window_n += 1
        if step % args.log_every == 0:
            dt = time.time() - window_start
            log(f"step {step}/{args.steps} epoch {epoch} loss {window_loss / window_n:.4f} lr {lr:.2e} "
                f"grad {float(grad_norm):.2f} | {dt / window_n:.2f} s/step, "
                f"{window_n * args.batch_size / dt:.1f} samples/s | {(time.time() - start) / 60:.1f} min"
                + (" | " + shaping.report() if shaping is not None else ""), log_file)
            window_loss, window_n, window_start = 0.0, 0, time.time()
        if step % args.eval_every == 0 or step == args.steps:
            t0 = time.time()
            log(f"step {step}: " + format_eval(evaluate(model, data, encoded, val, tokenizer.pad_token_id))
                + (" | " + cell_eval(model, heads, data, val_images)
                   if heads is not None else "")
                + f" ({time.time() - t0:.0f} s)", log_file)
            window_start += time.time() - t0
        if (time.time() - last_save) / 60 >= args.save_minutes:
            save_state(state_path, model, optimizer, step, elapsed_before + time.time() - start, args, heads)
            last_save = time.time()
    save_state(state_path, model, optimizer, step, elapsed_before + time.time() - start, args, heads)
    if step % args.eval_every and step != args.steps:
        log(f"step {step}: " + format_eval(evaluate(model, data, encoded, val, tokenizer.pad_token_id)), log_file)
    size = export(model, tokenizer_dir, args.out, data.size, args.patch_size, args.dtype)
    log(f"{done_reason} at step {step}, {(elapsed_before + time.time() - start) / 60:.1f} min in all; "
        f"exported to {args.out} ({size / 2**20:.1f} MiB, {args.dtype})", log_file)


if __name__ == "__main__":
    main()
